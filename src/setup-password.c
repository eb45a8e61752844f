/* Reading a new password: from standard input, or prompted twice on the
   terminal without echo. */

#include "setup-password.h"
#include "dms-password.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define PASSWORD_MAX 4096

bool setup_password_valid(const char *password, const char **error_r)
{
	if (password[0] == '\0') {
		*error_r = "the password is empty";
		return false;
	}
	if (strlen(password) > PASSWORD_MAX) {
		*error_r = "the password is longer than 4096 bytes";
		return false;
	}
	if (strpbrk(password, "\t\r\n\001") != NULL) {
		/* Dovecot refuses such logins ("password having illegal
		   chars"), so such an account could never log in */
		*error_r = "the password contains TAB, CR, LF or 0x01, "
			"which Dovecot refuses";
		return false;
	}
	return true;
}

/* One line from FP without its line end, or NULL at EOF. */
static char *read_line(FILE *fp)
{
	char *line = NULL;
	size_t size = 0;
	ssize_t len = getline(&line, &size, fp);

	if (len < 0) {
		free(line);
		return NULL;
	}
	if (len > 0 && line[len-1] == '\n')
		line[--len] = '\0';
	if (len > 0 && line[len-1] == '\r')
		line[--len] = '\0';
	return line;
}

void setup_password_free(char *s)
{
	if (s != NULL) {
		dms_wipe(s, strlen(s));
		free(s);
	}
}

static char *prompt(const char *text)
{
	struct termios old, noecho;
	bool restore = false;
	char *line;

	/* echo off before the prompt shows: TCSAFLUSH drops typeahead, so
	   doing it after the prompt could drop an answer already typed */
	if (tcgetattr(STDIN_FILENO, &old) == 0) {
		noecho = old;
		noecho.c_lflag &= ~(tcflag_t)ECHO;
		noecho.c_lflag |= ECHONL;
		restore = tcsetattr(STDIN_FILENO, TCSAFLUSH, &noecho) == 0;
	}
	fputs(text, stderr);
	fflush(stderr);
	line = read_line(stdin);
	if (restore)
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	return line;
}

char *setup_password_ask(const char *text, const char **error_r)
{
	char *password;

	if (!isatty(STDIN_FILENO)) {
		*error_r = "standard input is not a terminal to ask for the "
			"password (use --password-stdin)";
		return NULL;
	}
	if ((password = prompt(text)) == NULL)
		*error_r = "no password entered";
	return password;
}

char *setup_password_read(bool from_stdin, const char **error_r)
{
	char *first, *second;

	if (from_stdin) {
		first = read_line(stdin);
		if (first == NULL) {
			*error_r = "no password on standard input";
			return NULL;
		}
		return first;
	}
	if (!isatty(STDIN_FILENO)) {
		*error_r = "no password given, and standard input is not a "
			"terminal to ask for one (use --password-stdin)";
		return NULL;
	}
	first = prompt("Enter Password: ");
	if (first == NULL) {
		*error_r = "no password entered";
		return NULL;
	}
	if (first[0] == '\0') {
		setup_password_free(first);
		*error_r = "the password is empty";
		return NULL;
	}
	second = prompt("Confirm Password: ");
	if (second == NULL || strcmp(first, second) != 0) {
		setup_password_free(first);
		setup_password_free(second);
		*error_r = "the passwords do not match";
		return NULL;
	}
	setup_password_free(second);
	return first;
}
