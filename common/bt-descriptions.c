/* bt-descriptions.c: what each ErrorStatus means, in words for the user
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "bt-descriptions.h"
#include "bt-names.h"

/* Sentences a user reads under "Download failed": what went wrong, not
 * what the program did. Indexed like bt_error_status_names[]. */
static const char *const descriptions[] = {
  /* TRANSLATORS: the error status of a transfer that has none */
  N_ ("No error"),
  N_ ("The server’s name could not be found"),
  N_ ("Could not connect to the server"),
  N_ ("The server stopped answering"),
  N_ ("The connection to the server was lost"),
  N_ ("The server’s security certificate is not trusted"),
  N_ ("The server did not accept the user name or password"),
  N_ ("The proxy did not accept the user name or password"),
  N_ ("The server refused access"),
  N_ ("The file was not found on the server"),
  N_ ("The file is no longer on the server"),
  N_ ("The server could not send the requested part of the file"),
  N_ ("The server had an internal error"),
  N_ ("The server is unavailable or overloaded"),
  N_ ("The server redirected too many times"),
  N_ ("The server redirected to an insecure address"),
  N_ ("The file changed on the server during the transfer"),
  N_ ("The data does not match the expected checksum"),
  N_ ("The disk is full"),
  N_ ("The destination cannot be written"),
  N_ ("The server’s answer could not be understood"),
  N_ ("An unknown error occurred"),
};
G_STATIC_ASSERT (G_N_ELEMENTS (descriptions) == BT_N_ERROR_STATUS_NAMES);

const char *
bt_error_status_description (int error_status)
{
  if (error_status < 0 || (gsize) error_status >= G_N_ELEMENTS (descriptions))
    return NULL;
  return descriptions[error_status];
}
