/* Unit tests of the creation options
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "bt-error.h"
#include "bt-options.h"

static void
test_string_dict (void)
{
  static const char *const keys[] = { "a", "b", NULL };
  static const struct
  {
    const char *dict;
    gboolean ok;
  } cases[] = {
    { "@a{sv} {}", TRUE },     { "{'a': <'x'>}", TRUE }, { "{'a': <'x'>, 'b': <''>}", TRUE },
    { "{'c': <'x'>}", FALSE }, { "{'a': <1>}", FALSE },  { "{'a': <'x'>, 'b': <['y']>}", FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GVariant) dict = g_variant_ref_sink (g_variant_new_parsed (cases[i].dict));
      g_autoptr (GError) error = NULL;

      g_test_message ("%s", cases[i].dict);
      g_assert_cmpint (bt_options_check_string_dict (dict, keys, "opt", &error), ==, cases[i].ok);
      if (!cases[i].ok)
        g_assert_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT);
    }
}

static void
test_credential (void)
{
  g_autoptr (GVariant) both
      = g_variant_ref_sink (g_variant_new_parsed ("{'username': <'u'>, 'password': <'p'>}"));
  g_autoptr (GVariant) half = g_variant_ref_sink (g_variant_new_parsed ("{'username': <'u'>}"));
  g_autoptr (GError) error = NULL;
  g_autofree char *user = NULL;
  g_autofree char *password = NULL;
  char *u2 = NULL, *p2 = NULL;

  g_assert_true (bt_options_parse_credential (both, "server-credential", &user, &password, &error));
  g_assert_cmpstr (user, ==, "u");
  g_assert_cmpstr (password, ==, "p");
  g_assert_false (bt_options_parse_credential (half, "server-credential", &u2, &p2, &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT);
  g_free (u2);
  g_free (p2);
}

static void
test_check (void)
{
  g_autoptr (GVariant) good = g_variant_ref_sink (
      g_variant_new_parsed ("{'destination': <'/tmp/x'>, 'priority': <'high'>}"));
  g_autoptr (GVariant) unknown = g_variant_ref_sink (g_variant_new_parsed ("{'nope': <1>}"));
  g_autoptr (GVariant) typed = g_variant_ref_sink (g_variant_new_parsed ("{'priority': <2>}"));
  g_autoptr (GVariant) upload_only
      = g_variant_ref_sink (g_variant_new_parsed ("{'source': <'/tmp/x'>}"));
  g_autoptr (GVariant) twice = g_variant_ref_sink (g_variant_new_parsed (
      "@a{sv} [{'destination', <'/tmp/a'>}, {'priority', <'high'>}, {'destination', <'/tmp/b'>}]"));
  g_autoptr (GVariant) twice_upload = g_variant_ref_sink (
      g_variant_new_parsed ("@a{sv} [{'method', <'PUT'>}, {'method', <'POST'>}]"));
  g_autoptr (GError) error = NULL;

  g_assert_true (bt_options_check (good, BT_KIND_DOWNLOAD, NULL));
  g_assert_false (bt_options_check (unknown, BT_KIND_DOWNLOAD, &error));
  g_clear_error (&error);
  g_assert_false (bt_options_check (typed, BT_KIND_DOWNLOAD, &error));
  g_clear_error (&error);
  g_assert_false (bt_options_check (upload_only, BT_KIND_DOWNLOAD, &error));
  g_clear_error (&error);
  g_assert_true (bt_options_check (upload_only, BT_KIND_UPLOAD, NULL));
  /* Which of two would count is a guess: refused, for either kind */
  g_assert_false (bt_options_check (twice, BT_KIND_DOWNLOAD, &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (bt_options_check (twice_upload, BT_KIND_UPLOAD, &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/options/string-dict", test_string_dict);
  g_test_add_func ("/options/credential", test_credential);
  g_test_add_func ("/options/check", test_check);
  return g_test_run ();
}
