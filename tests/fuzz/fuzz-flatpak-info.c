/* fuzz-flatpak-info.c: /.flatpak-info as a sandboxed caller may write it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "bt-callers.h"
#include "fuzz-common.h"

int
LLVMFuzzerTestOneInput (const unsigned char *data, size_t size)
{
  g_autofree char *app_id = NULL;
  g_autoptr (GError) error = NULL;
  gboolean network = FALSE;

  /* The service reads it with an explicit length, NULs and all */
  if (bt_parse_flatpak_info ((const char *) data, size, &app_id, &network, &error))
    {
      g_assert_no_error (error);
      g_assert_nonnull (app_id);
      g_assert_true (g_utf8_validate (app_id, -1, NULL));
      g_assert_null (strchr (app_id, '/'));
    }
  else
    {
      g_assert_nonnull (error);
      g_assert_null (app_id);
    }
  return 0;
}
