<?php

// Roundcube's part of the webmail recipe (contrib/roundcube/README.md):
// lines for /etc/roundcube/config.inc.php, after its $config['plugins'].

$config['plugins'][] = 'dms_master';
// the filters, through Dovecot's ManageSieve (Debian's roundcube-plugins)
$config['plugins'][] = 'managesieve';

// A master's password is checked against its hash: PLAIN, never
// CRAM-MD5 or DIGEST-MD5 (Roundcube would pick those if Dovecot offers
// them, and a master login would fail)
$config['imap_auth_type'] = 'PLAIN';
$config['smtp_auth_type'] = 'PLAIN';
$config['managesieve_auth_type'] = 'PLAIN';

// Sending logs in as the user (a master as user@example.com*admin)
$config['smtp_user'] = '%u';
$config['smtp_pass'] = '%p';

// The From is one of the user's identities, whose address nobody can
// change in Roundcube (Postfix checks the envelope: postfix-main.cf)
$config['identities_level'] = 3;
