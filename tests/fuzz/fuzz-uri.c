/* fuzz-uri.c: the URI an application asks for (FAULTS C1)
 *
 * An accepted URI has one of our schemes, a host, no user info (C2), is
 * within the length limit, and validates again once normalised.
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
  g_autofree char *text = fuzz_string (data, size);
  g_autoptr (GError) error = NULL;
  g_autoptr (GUri) uri = NULL;
  BtScheme scheme;

  uri = bt_validate_uri (text, &scheme, &error);
  if (uri != NULL)
    {
      g_autofree char *again_text = g_uri_to_string (uri);
      g_autoptr (GUri) again = NULL;
      g_autoptr (GError) again_error = NULL;
      BtScheme again_scheme;

      g_assert_no_error (error);
      g_assert_cmpint (scheme, >=, BT_SCHEME_HTTP);
      g_assert_cmpint (scheme, <=, BT_SCHEME_FTPS);
      g_assert_nonnull (g_uri_get_host (uri));
      g_assert_cmpuint (strlen (text), <=, BT_MAX_URI_LENGTH);
      again = bt_validate_uri (again_text, &again_scheme, &again_error);
      g_assert_no_error (again_error);
      g_assert_cmpint (scheme, ==, again_scheme);
    }
  else
    g_assert_nonnull (error);
  return 0;
}
