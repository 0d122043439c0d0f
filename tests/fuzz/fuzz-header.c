/* fuzz-header.c: an application's custom header (name, newline, value)
 *
 * What the validation accepts must be safe to hand to libsoup: no CR, LF
 * or NUL, a token for a name, valid UTF-8 (FAULTS C6).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "bt-validate.h"
#include "fuzz-common.h"

int
LLVMFuzzerTestOneInput (const unsigned char *data, size_t size)
{
  g_autofree char *name = NULL;
  g_autofree char *value = NULL;
  g_autoptr (GError) error = NULL;

  fuzz_split (data, size, &name, &value);
  if (bt_validate_header (name, value, &error))
    {
      g_assert_no_error (error);
      g_assert_cmpuint (strlen (name), >, 0);
      g_assert_null (strpbrk (name, "\r\n: \t"));
      g_assert_null (strpbrk (value, "\r\n"));
      g_assert_cmpuint (strlen (value), <=, BT_MAX_HEADER_VALUE_LENGTH);
      (void) bt_header_is_secret (name);
    }
  else
    g_assert_nonnull (error);
  return 0;
}
