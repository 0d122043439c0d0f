/* Unit tests of caller identification (FAULTS X2)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "bt-callers.h"
#include "bt-error.h"

static void
test_flatpak_info (void)
{
  static const struct
  {
    const char *data;
    gboolean ok;
    const char *app_id;
    gboolean network;
  } cases[] = {
    { "[Application]\nname=org.example.App\nruntime=runtime/org.gnome.Platform/x86_64/45\n"
      "[Context]\nshared=network;ipc;\n",
      TRUE, "org.example.App", TRUE },
    { "[Application]\nname=org.example.NoNet\n[Context]\nshared=ipc;\n", TRUE, "org.example.NoNet",
      FALSE },
    { "[Application]\nname=org.example.NoContext\n", TRUE, "org.example.NoContext", FALSE },
    { "[Runtime]\nname=org.gnome.Platform\n[Context]\nshared=network;\n", TRUE,
      "org.gnome.Platform", TRUE },
    { "[Application]\nname=\n[Context]\nshared=network;\n", FALSE },
    { "[Application]\nname=not an id\n[Context]\nshared=network;\n", FALSE },
    { "[Application]\nname=:1.42\n[Context]\nshared=network;\n", FALSE },
    { "[Context]\nshared=network;\n", FALSE },
    { "garbage\x01\x02", FALSE },
    { "", FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *app_id = NULL;
      gboolean network = !cases[i].network;
      gboolean ok;

      g_test_message ("case %" G_GSIZE_FORMAT, i);
      ok = bt_parse_flatpak_info (cases[i].data, strlen (cases[i].data), &app_id, &network, &error);
      g_assert_cmpint (ok, ==, cases[i].ok);
      if (ok)
        {
          g_assert_no_error (error);
          g_assert_cmpstr (app_id, ==, cases[i].app_id);
          g_assert_cmpint (network, ==, cases[i].network);
        }
      else
        {
          /* fail closed */
          g_assert_error (error, BT_ERROR, BT_ERROR_ACCESS_DENIED);
          g_assert_null (app_id);
        }
    }
}

static void
test_app_ids (void)
{
  g_assert_true (bt_app_id_is_valid (""));
  g_assert_true (bt_app_id_is_valid ("org.example.App"));
  g_assert_true (bt_app_id_is_valid ("org.example.App_2"));
  g_assert_true (bt_app_id_is_valid ("app-a"));
  g_assert_true (bt_app_id_is_valid ("org.example.App; DROP TABLE transfers"));
  g_assert_false (bt_app_id_is_valid ("line\nbreak"));
  g_assert_false (bt_app_id_is_valid ("\xff\xfe"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/identity/flatpak-info", test_flatpak_info);
  g_test_add_func ("/identity/app-ids", test_app_ids);

  return g_test_run ();
}
