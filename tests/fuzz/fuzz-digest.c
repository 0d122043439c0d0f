/* fuzz-digest.c: Repr-Digest / Content-Digest (RFC 9530) and the
 * checksum option
 *
 * Input: the header's name, a newline, its value.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "bt-verify.h"
#include "fuzz-common.h"

int
LLVMFuzzerTestOneInput (const unsigned char *data, size_t size)
{
  g_autofree char *name = NULL;
  g_autofree char *value = NULL;
  g_autoptr (BtDigest) digest = NULL;
  g_autoptr (BtDigest) option = NULL;
  g_autoptr (GError) error = NULL;

  fuzz_split (data, size, &name, &value);
  digest = bt_digest_parse_header (name, value);
  if (digest != NULL)
    {
      g_autofree char *text = bt_digest_to_string (digest);
      g_autoptr (BtDigest) again = NULL;

      /* A digest the server gave reads back as an option */
      g_assert_nonnull (text);
      again = bt_digest_parse_option (text, &error);
      g_assert_no_error (error);
      g_assert_nonnull (again);
    }
  option = bt_digest_parse_option (value, &error);
  g_assert_true ((option == NULL) == (error != NULL));
  return 0;
}
