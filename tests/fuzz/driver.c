/* driver.c: runs a fuzz target on every file of its corpus, as an
 * ordinary test (the way GLib's fuzzing/ does without libFuzzer)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib.h>

int LLVMFuzzerTestOneInput (const unsigned char *data, size_t size);

static void
run_file (gconstpointer user_data)
{
  const char *path = user_data;
  g_autofree char *contents = NULL;
  g_autoptr (GError) error = NULL;
  gsize length;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);
  LLVMFuzzerTestOneInput ((const unsigned char *) contents, length);
}

int
main (int argc, char **argv)
{
  g_autoptr (GDir) dir = NULL;
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  const char *srcdir = g_getenv ("G_TEST_SRCDIR");
  g_autofree char *corpus = NULL;
  const char *name;

  g_test_init (&argc, &argv, NULL);
  corpus = g_build_filename (srcdir != NULL ? srcdir : ".", "corpus", FUZZ_TARGET, NULL);
  dir = g_dir_open (corpus, 0, NULL);
  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      char *path = g_build_filename (corpus, name, NULL);
      g_autofree char *test = g_strconcat ("/fuzz/" FUZZ_TARGET "/", name, NULL);

      g_ptr_array_add (paths, path);
      g_test_add_data_func (test, path, run_file);
    }
  return g_test_run ();
}
