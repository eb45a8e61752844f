#ifndef SETUP_KICK_H
#define SETUP_KICK_H

/* `setup dovecot-master kick NAME`: ask the dms-session service of the
   Dovecot whose base_dir is BASE_DIR, through its admin socket
   (BASE_DIR/dms-session-admin, root's only), to end every session of
   master NAME now. Returns the number of sessions told to end, or -1
   with *error_r (static or in a static buffer). */
int setup_kick(const char *base_dir, const char *name, const char **error_r);

/* Dovecot's default base_dir (Debian's /run/dovecot). */
#define SETUP_BASE_DIR_DEFAULT "/run/dovecot"

#endif
