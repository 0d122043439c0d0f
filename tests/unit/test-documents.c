/* Unit tests of the document portal's paths (bt-documents.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "bt-callers.h"
#include "bt-documents.h"

#define MOUNT "/run/user/1000/doc"

static void
test_parse (void)
{
  static const struct
  {
    const char *path;
    const char *doc_id; /* NULL: not a document's file */
    const char *rest;
  } cases[] = {
    { MOUNT "/a1b2c3d4/report.pdf", "a1b2c3d4", "report.pdf" },
    { MOUNT "/a1b2c3d4/Folder/sub/f.txt", "a1b2c3d4", "Folder/sub/f.txt" },
    { MOUNT "/by-app/org.example.App/a1b2c3d4/report.pdf", "a1b2c3d4", "report.pdf" },
    { MOUNT "/a1b2c3d4", NULL },
    { MOUNT "/a1b2c3d4/", NULL },
    { MOUNT "/by-app/org.example.App/a1b2c3d4", NULL },
    { MOUNT "/by-app/org.example.App", NULL },
    { MOUNT "/a1b2c3d4/../etc/passwd", NULL },
    { MOUNT "/../a1b2c3d4/x", NULL },
    { MOUNT "/./x", NULL },
    { MOUNT "/by-app/../a1b2c3d4/x", NULL },
    { MOUNT "x/a1b2c3d4/report.pdf", NULL },
    { "/run/user/1000/document/a1b2c3d4/report.pdf", NULL },
    { "/home/user/report.pdf", NULL },
    { MOUNT, NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *doc_id = NULL;
      g_autofree char *rest = NULL;
      gboolean ok = bt_document_path_parse (cases[i].path, MOUNT, &doc_id, &rest);

      g_test_message ("%s", cases[i].path);
      g_assert_cmpint (ok, ==, cases[i].doc_id != NULL);
      g_assert_cmpstr (doc_id, ==, cases[i].doc_id);
      g_assert_cmpstr (rest, ==, cases[i].doc_id != NULL ? cases[i].rest : NULL);
    }
}

static void
test_host_file (void)
{
  static const struct
  {
    const char *host;
    const char *rest;
    const char *file; /* NULL: the document is not that file */
  } cases[] = {
    { "/home/u/report.pdf", "report.pdf", "/home/u/report.pdf" },
    { "/home/u/Folder", "Folder/sub/f.txt", "/home/u/Folder/sub/f.txt" },
    { "/home/u/other.pdf", "report.pdf", NULL },
    { "/home/u/Folder", "Folder2/f.txt", NULL },
    { "/home/u/Fold", "Folder/f.txt", NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *file = bt_document_host_file (cases[i].host, cases[i].rest);

      g_assert_cmpstr (file, ==, cases[i].file);
    }
}

static void
test_network_rule (void)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (bt_callers_check_network ("org.example.App", TRUE, TRUE, NULL));
  g_assert_true (bt_callers_check_network ("", FALSE, FALSE, NULL));
  g_assert_false (bt_callers_check_network ("org.example.App", TRUE, FALSE, &error));
  g_assert_nonnull (strstr (error->message, "no network permission"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/documents/parse", test_parse);
  g_test_add_func ("/documents/host-file", test_host_file);
  g_test_add_func ("/documents/network-rule", test_network_rule);
  return g_test_run ();
}
