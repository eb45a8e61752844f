<?php

/**
 * dms_master: Roundcube as the target user of a Dovecot master login
 * (auth_master_dms).
 *
 * The login form takes "user@example.com*admin" with admin's password.
 * Roundcube keeps its own data (identities, settings, address book) under
 * user@example.com, as the mailbox's owner sees it; the plugin logs in to
 * IMAP, ManageSieve and SMTP as "user@example.com*admin" again, so Dovecot
 * checks the master (and its policy) on every connection.
 *
 * While a master is logged in, every page shows a banner naming the master
 * and the target, and the messages it sends carry a header naming the
 * master. A read-only master (Dovecot opens INBOX read-only for it) is
 * told why before an action that would change something, instead of
 * seeing Dovecot's refusal fail obscurely; Roundcube's own data of the
 * owner (settings, identities, contacts) is not changed by it either.
 *
 * Settings (config.inc.php.dist): dms_master_separator,
 * dms_master_header, dms_master_client_ip.
 */
class dms_master extends rcube_plugin
{
    /** actions a read-only master may use, by task; any other is refused */
    private const READ_ONLY_ACTIONS = [
        'mail' => [
            '', 'index', 'list', 'show', 'preview', 'print', 'get',
            'viewsource', 'headers', 'search', 'check-recent', 'getunread',
            'pagenav', 'list-contacts', 'search-contacts', 'autocomplete',
            'group-expand', 'display-attachment', 'attachment-display',
        ],
        'settings' => [
            '', 'preferences', 'edit-prefs', 'folders', 'edit-folder',
            'folder-size', 'identities', 'edit-identity', 'responses',
            'edit-response', 'response-get', 'about',
            // Dovecot refuses ManageSieve to a read-only master; the page
            // says so
            'plugin.managesieve',
        ],
        'addressbook' => [
            '', 'index', 'list', 'show', 'search', 'photo', 'export',
            'qrcode', 'print',
        ],
        'utils' => ['html2text', 'text2html', 'spell', 'spell_html', 'modcss', 'error'],
        'login' => ['', 'login'],
        'logout' => [''],
    ];

    /** in every task */
    private const READ_ONLY_ANYWHERE = ['keep-alive', 'refresh'];

    private $rc;

    public function init()
    {
        $this->rc = rcmail::get_instance();
        // config.inc.php here, or dms_master.inc.php in Roundcube's config
        // directory; the defaults are in the get() calls
        $this->load_config();
        $this->add_texts('localization/');

        $this->add_hook('authenticate', [$this, 'authenticate']);
        $this->add_hook('storage_connect', [$this, 'storage_connect']);
        $this->add_hook('managesieve_connect', [$this, 'managesieve_connect']);
        $this->add_hook('smtp_connect', [$this, 'smtp_connect']);
        $this->add_hook('login_after', [$this, 'login_after']);
        $this->add_hook('startup', [$this, 'startup']);
        $this->add_hook('render_page', [$this, 'render_page']);
        $this->add_hook('message_before_send', [$this, 'message_before_send']);
        $this->add_hook('message_send_error', [$this, 'message_send_error']);
    }

    /** The master of this session, or null. */
    private function master()
    {
        return isset($_SESSION['dms_master']) ? $_SESSION['dms_master'] : null;
    }

    private function read_only()
    {
        // unknown counts as read-only: see login_after()
        return $this->master() !== null && !empty($_SESSION['dms_master_read_only']);
    }

    /**
     * "user@example.com*admin" at the login form: Roundcube's user is
     * user@example.com; the master is kept for the connections.
     */
    public function authenticate($args)
    {
        unset($_SESSION['dms_master'], $_SESSION['dms_master_read_only']);
        $sep = $this->separator();
        $pos = $sep === '' ? false : strpos($args['user'], $sep);

        if ($pos !== false) {
            $target = substr($args['user'], 0, $pos);
            $master = substr($args['user'], $pos + strlen($sep));
            if ($target !== '' && $master !== '') {
                $_SESSION['dms_master'] = $master;
                $args['user'] = $target;
                // the text of a refused login is Dovecot's, found once the
                // IMAP login failed (storage_connect); until then
                // Roundcube's own
                $args['error'] = 'dms_master.loginfailed';
                $this->set_text('dms_master.loginfailed', $this->rc->gettext('loginfailed'));
            }
        }

        return $args;
    }

    /** LABEL's text from now on, this plugin's or another's. */
    private function set_text($label, $text)
    {
        $this->rc->load_language(null, [], [$label => $text]);
    }

    private function separator()
    {
        return (string) $this->rc->config->get('dms_master_separator', '*');
    }

    private function login_name($user)
    {
        $master = $this->master();

        return $master === null ? $user : $user . $this->separator() . $master;
    }

    public function storage_connect($args)
    {
        if ($this->rc->config->get('dms_master_client_ip', true)) {
            // Dovecot takes the browser's address from a client in
            // login_trusted_networks (IMAP ID before login), so the audit
            // and the session record name it, not the webmail's
            $ident = isset($args['preauth_ident']) ? (array) $args['preauth_ident'] : [];
            $ident['x-originating-ip'] = rcube_utils::remote_addr();
            $args['preauth_ident'] = $ident;
        }

        if ($this->master() === null) {
            return $args;
        }

        if ($args['attempt'] > 1) {
            // the first login was refused: at the login form tell why;
            // later, the session ends. Not tried again.
            if ($this->rc->task == 'login') {
                $this->explain_refusal();
            }
            else {
                $this->end_session();
            }
            $args['retry'] = false;

            return $args;
        }

        $args['user'] = $this->login_name($args['user']);
        // called again if the login fails (see above)
        $args['retry'] = true;

        return $args;
    }

    /**
     * Dovecot tells a master whose password was right why it was refused
     * ("[AUTHORIZATIONFAILED] Master login not allowed for this user"):
     * the login form shows that instead of "Login failed".
     */
    private function explain_refusal()
    {
        $conn = $this->rc->storage ? $this->rc->storage->conn : null;

        if ($conn && $conn->errornum < -1) {
            // no answer from the server at all
            $this->set_text('dms_master.loginfailed', $this->rc->gettext('storageerror'));
        }
        else if ($conn && $conn->resultcode == 'AUTHORIZATIONFAILED') {
            $reason = preg_replace('/^.*\[AUTHORIZATIONFAILED\]\s*/s', '', (string) $conn->result);
            // a message's text is HTML: the server's words are quoted
            $this->set_text('dms_master.loginfailed', $this->gettext([
                'name' => 'loginrefused', 'vars' => ['reason' => rcube::Q(trim($reason))]]));
        }
    }

    /**
     * Dovecot refused the master on a later request: its access ended
     * (master removed, password changed, grant revoked or expired, a
     * policy change). Dovecot ends the master's open sessions too; here
     * the Roundcube session ends, and the login form says why. A server
     * that does not answer is Roundcube's own error, as for anyone.
     */
    private function end_session()
    {
        $conn = $this->rc->storage ? $this->rc->storage->conn : null;
        if (!$conn || $conn->errornum != rcube_imap_generic::ERROR_NO) {
            return;
        }

        rcube::write_log('dms_master', sprintf(
            'Master %s (%s from %s): refused by the mail server, session ended: %s',
            $this->master(), $this->rc->get_user_name(), rcube_utils::remote_addr(),
            $conn->result));
        $this->rc->kill_session();
        $url = ['_task' => 'login', '_dms_master' => 'ended'];
        if ($this->rc->output->ajax_call || !empty($_REQUEST['_framed'])) {
            $this->rc->output->command('session_error', $this->rc->url($url));
            $this->rc->output->send(empty($_REQUEST['_framed']) ? null : 'iframe');
        }
        else {
            $this->rc->output->redirect($url);
        }
        exit;
    }

    public function managesieve_connect($args)
    {
        if ($this->master() !== null) {
            $args['user'] = $this->login_name($args['user']);
            // shown only if Dovecot refuses the master over ManageSieve
            $this->set_text('managesieve.filterconnerror', $this->gettext('nosieve'));
        }

        return $args;
    }

    public function smtp_connect($args)
    {
        if ($this->master() !== null) {
            // only the per-user login ("%u"); a fixed SMTP account is not
            // the target's
            $args['smtp_user'] = str_replace('%u', $this->login_name('%u'), $args['smtp_user']);
            $type = strtoupper((string) $args['smtp_auth_type']);
            if ($this->rc->config->get('dms_master_client_ip', true)
                && ($type === '' || $type === 'PLAIN')
            ) {
                // a name of its own: Net_SMTP keeps its own PLAIN over
                // one added with the same name
                $args['smtp_auth_callbacks'][] = [
                    'name' => 'DMS-XCLIENT-PLAIN', 'function' => [$this, 'smtp_auth_plain']];
                $args['smtp_auth_type'] = 'DMS-XCLIENT-PLAIN';
            }
        }

        return $args;
    }

    /**
     * AUTH PLAIN after XCLIENT ADDR=the browser's address, where the
     * server offers XCLIENT to the webmail (Postfix's
     * smtpd_authorized_xclient_hosts, Dovecot's login_trusted_networks):
     * the audit names the browser for SMTP as it does for IMAP. A server
     * that refuses XCLIENT gets the plain login.
     */
    public function smtp_auth_plain($uid, $pwd, $authz, $smtp)
    {
        $ext = $smtp->getServiceExtensions();
        $addr = rcube_utils::remote_addr();

        if (isset($ext['XCLIENT']) && filter_var($addr, FILTER_VALIDATE_IP)) {
            $attr = (strpos($addr, ':') !== false ? 'IPV6:' : '') . $addr;
            if ($smtp->command('XCLIENT ADDR=' . $attr, 220) === true) {
                // a new session: greeted again
                $ehlo = $smtp->command('EHLO ' . $smtp->localhost, 250);
                if ($ehlo !== true) {
                    return $ehlo;
                }
            }
        }

        // two steps, as Net_SMTP's own PLAIN: Roundcube's SMTP debug log
        // hides the line after "AUTH PLAIN", the credentials
        $res = $smtp->command('AUTH PLAIN', 334);
        if ($res !== true) {
            return $res;
        }

        return $smtp->command(base64_encode($authz . "\0" . $uid . "\0" . $pwd), 235);
    }

    /**
     * Whether the master may change anything is Dovecot's to say: for a
     * read-only master it opens INBOX read-only. Not known counts as
     * read-only (fail closed).
     */
    public function login_after($args)
    {
        if ($this->master() === null) {
            return $args;
        }

        $storage = $this->rc->get_storage();
        $writable = $storage && $storage->conn && $storage->conn->select('INBOX')
            && !empty($storage->conn->data['READ-WRITE']);
        $_SESSION['dms_master_read_only'] = !$writable;

        rcube::write_log('dms_master', sprintf('Master %s logged in as %s from %s%s',
            $this->master(), $this->rc->get_user_name(), rcube_utils::remote_addr(),
            $writable ? '' : ' (read-only)'));

        return $args;
    }

    public function startup($args)
    {
        $ended = rcube_utils::get_input_string('_dms_master', rcube_utils::INPUT_GET);
        if ($args['task'] == 'login' && $ended === 'ended') {
            $this->rc->output->show_message('dms_master.ended', 'error');
        }

        if (!$this->read_only()) {
            return $args;
        }

        // opening a message must not mark it as read
        $this->rc->config->set('mail_read_time', -1);

        $allowed = self::READ_ONLY_ACTIONS[$args['task']] ?? [];
        $action = (string) $args['action'];
        if (in_array($action, $allowed, true)
            || in_array($action, self::READ_ONLY_ANYWHERE, true)
        ) {
            return $args;
        }

        rcube::write_log('dms_master', sprintf('Read-only master %s (%s from %s): %s/%s refused',
            $this->master(), $this->rc->get_user_name(), rcube_utils::remote_addr(),
            $args['task'], $args['action']));
        $this->rc->output->show_message('dms_master.readonly', 'error');
        if ($this->rc->output->ajax_call) {
            $this->rc->output->send();
            exit;
        }
        // a page (compose, say): the task's start page, with the reason
        $args['action'] = '';
        if (!isset(self::READ_ONLY_ACTIONS[$args['task']])) {
            $args['task'] = 'mail';
        }

        return $args;
    }

    public function render_page($args)
    {
        $master = $this->master();
        // a frame (the message preview) is inside a page with the banner
        if ($master === null || !empty($_REQUEST['_framed'])) {
            return $args;
        }

        $text = $this->gettext([
            'name' => $this->read_only() ? 'bannerreadonly' : 'banner',
            'vars' => [
                'master' => rcube::Q($master),
                'target' => rcube::Q($this->rc->get_user_name()),
            ],
        ]);
        $banner = html::div(['id' => 'dms-master-banner', 'role' => 'alert',
            'class' => $this->read_only() ? 'read-only' : ''], $text);
        $style = '<style>'
            . 'html body { display: flex; flex-direction: column; height: 100%; }'
            . 'html body > #layout { flex: 1; min-height: 0; height: auto; }'
            . '#dms-master-banner { flex: none; padding: .4em 1em; z-index: 1000;'
            . ' background: #b30000; color: #fff; font-weight: bold; text-align: center; }'
            . '#dms-master-banner.read-only { background: #8a4b00; }'
            . '</style>';

        // a callback: the names are not a replacement pattern ("$1")
        $args['content'] = preg_replace_callback('/<body\b[^>]*>/i',
            function ($m) use ($style, $banner) { return $m[0] . $style . $banner; },
            $args['content'], 1);

        return $args;
    }

    public function message_before_send($args)
    {
        $master = $this->master();
        $header = (string) $this->rc->config->get('dms_master_header', 'X-Impersonated-By');

        if ($master !== null && $header !== '') {
            // the recipients and the owner (in Sent) can tell
            $args['message']->headers([$header => $master], true);
        }

        return $args;
    }

    public function message_send_error($args)
    {
        $label = is_array($args['error']) ? ($args['error']['label'] ?? '') : '';

        if ($this->master() !== null && $label == 'smtpautherror') {
            $args['error'] = ['label' => 'dms_master.nosubmission', 'vars' => []];
        }

        return $args;
    }
}
