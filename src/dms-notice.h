#ifndef DMS_NOTICE_H
#define DMS_NOTICE_H

/* The owner's notice of a master session: a template (header lines, an
   empty line, the body) in which %{name} is replaced by the session's
   values and %% by '%'. Values go into header lines too, so a value is
   cut at the first control character: a master name or a mailbox cannot
   add a header. */

#define DMS_NOTICE_MAX (64 * 1024)

/* TEMPLATE with VARS (name, value, ..., NULL) put in: malloc()ed, or
   NULL with *error_r (static, or in a static buffer) for an unknown
   variable, a '%' that is neither %{...} nor %%, a template without the
   empty line that ends its header or without a Subject: header, or a
   result longer than DMS_NOTICE_MAX. */
char *dms_notice_expand(const char *template_text, const char *const *vars,
			const char **error_r);

/* The variables a template may use, NULL-terminated. */
extern const char *const dms_notice_variables[];

#endif
