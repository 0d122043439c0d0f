/* Unit tests of the destination file handling (FAULTS X4)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "bt-destination.h"
#include "bt-error.h"

typedef struct
{
  char *dir;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("bt-destination-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  g_autoptr (GDir) dir = g_dir_open (f->dir, 0, NULL);
  const char *name;

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (f->dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (f->dir);
  g_free (f->dir);
}

static char *
read_file (const char *path)
{
  char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return NULL;
  return contents;
}

static void
test_write_commit (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "out.txt", NULL);
  g_autofree char *part = g_strconcat (path, ".bgtpart", NULL);
  g_autofree char *contents = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (BtDestination) dest = bt_destination_new_for_path (path, FALSE, &error);

  g_assert_no_error (error);
  g_assert_true (g_file_test (part, G_FILE_TEST_IS_REGULAR));
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));

  g_assert_cmpint (bt_destination_open (dest, &error), >=, 0);
  g_assert_true (bt_destination_write (dest, 0, "hello world", 11, &error));
  g_assert_true (bt_destination_write (dest, 6, "there", 5, &error));
  g_assert_true (bt_destination_commit (dest, 11, &error));
  g_assert_no_error (error);

  g_assert_false (g_file_test (part, G_FILE_TEST_EXISTS));
  contents = read_file (path);
  g_assert_cmpstr (contents, ==, "hello there");
}

/* A flush that failed (here: of a pipe, EINVAL, as a write-back round in
 * another thread could fail with EIO) is not undone by a later flush that
 * succeeds: Linux tells only the first flush of an fd's description */
static void
test_failed_flush_stands (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "lost", NULL);
  g_autofree char *contents = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (BtDestination) dest = bt_destination_new_for_path (path, FALSE, &error);
  BtFlusher *flusher = bt_destination_get_flusher (dest);
  int pipe_fds[2];

  g_assert_no_error (error);
  g_assert_cmpint (bt_destination_open (dest, &error), >=, 0);
  g_assert_true (bt_destination_write (dest, 0, "data", 4, &error));
  g_assert_no_error (error);
  g_assert_cmpint (
      bt_flusher_flush (flusher, bt_destination_open (dest, NULL), BT_FLUSHER_ANY_SIZE), ==, 0);

  g_assert_no_errno (pipe (pipe_fds));
  g_assert_cmpint (bt_flusher_flush (flusher, pipe_fds[0], BT_FLUSHER_ANY_SIZE), ==, EINVAL);
  close (pipe_fds[0]);
  close (pipe_fds[1]);

  /* The data's own fd flushes fine now: the failure stands all the same */
  g_assert_cmpint (
      bt_flusher_flush (flusher, bt_destination_open (dest, NULL), BT_FLUSHER_ANY_SIZE), ==,
      EINVAL);
  g_assert_false (bt_destination_write (dest, 4, "more", 4, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "Cannot flush"));
  g_clear_error (&error);
  g_assert_false (bt_destination_commit (dest, 4, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));

  /* Once the transfer went back to its last good flush */
  bt_flusher_forget_failure (flusher);
  g_assert_true (bt_destination_write (dest, 0, "good", 4, &error));
  g_assert_true (bt_destination_commit (dest, 4, &error));
  g_assert_no_error (error);
  contents = read_file (path);
  g_assert_cmpstr (contents, ==, "good");
}

static void
test_existing_refused (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "exists", NULL);
  g_autofree char *part = g_strconcat (path, ".bgtpart", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (BtDestination) dest = NULL;
  g_autoptr (BtDestination) replacing = NULL;

  g_assert_true (g_file_set_contents (path, "keep", -1, NULL));
  dest = bt_destination_new_for_path (path, FALSE, &error);
  g_assert_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT);
  g_assert_null (dest);
  g_assert_false (g_file_test (part, G_FILE_TEST_EXISTS));
  g_clear_error (&error);

  replacing = bt_destination_new_for_path (path, TRUE, &error);
  g_assert_no_error (error);
  g_assert_true (bt_destination_write (replacing, 0, "new", 3,
                                       (bt_destination_open (replacing, NULL), &error)));
  g_assert_true (bt_destination_commit (replacing, 3, &error));
  {
    g_autofree char *now = read_file (path);

    g_assert_cmpstr (now, ==, "new");
  }
}

static void
test_no_replace_race (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "race", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (BtDestination) dest = bt_destination_new_for_path (path, FALSE, &error);
  g_autofree char *contents = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (bt_destination_open (dest, &error), >=, 0);
  g_assert_true (bt_destination_write (dest, 0, "data", 4, &error));
  /* Someone creates the destination while we download: never replaced */
  g_assert_true (g_file_set_contents (path, "victim", -1, NULL));
  g_assert_false (bt_destination_commit (dest, 4, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  contents = read_file (path);
  g_assert_cmpstr (contents, ==, "victim");
}

static void
test_part_in_use (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "twice", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (BtDestination) first = bt_destination_new_for_path (path, FALSE, &error);
  g_autoptr (BtDestination) second = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (first);
  second = bt_destination_new_for_path (path, FALSE, &error);
  g_assert_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT);
  g_assert_null (second);
}

static void
test_symlinked_part (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "link", NULL);
  g_autofree char *part = g_strconcat (path, ".bgtpart", NULL);
  g_autofree char *victim = g_build_filename (f->dir, "victim", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (BtDestination) dest = NULL;
  g_autofree char *contents = NULL;

  g_assert_true (g_file_set_contents (victim, "precious", -1, NULL));
  g_assert_cmpint (symlink (victim, part), ==, 0);
  dest = bt_destination_new_for_path (path, FALSE, &error);
  g_assert_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT);
  g_assert_null (dest);
  contents = read_file (victim);
  g_assert_cmpstr (contents, ==, "precious");
}

static void
test_symlink_swapped_in (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "swap", NULL);
  g_autofree char *part = g_strconcat (path, ".bgtpart", NULL);
  g_autofree char *victim = g_build_filename (f->dir, "victim", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (BtDestination) dest = bt_destination_new_for_path (path, FALSE, &error);
  g_autofree char *contents = NULL;

  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (victim, "precious", -1, NULL));
  /* The partial file is replaced by a link between two runs */
  g_assert_cmpint (g_unlink (part), ==, 0);
  g_assert_cmpint (symlink (victim, part), ==, 0);
  g_assert_cmpint (bt_destination_open (dest, &error), <, 0);
  g_assert_nonnull (error);
  contents = read_file (victim);
  g_assert_cmpstr (contents, ==, "precious");
}

static void
test_discard (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "gone", NULL);
  g_autofree char *part = g_strconcat (path, ".bgtpart", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (BtDestination) dest = bt_destination_new_for_path (path, FALSE, &error);

  g_assert_no_error (error);
  bt_destination_discard (dest);
  g_assert_false (g_file_test (part, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
}

static void
test_fd_checks (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "fd", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (BtDestination) dest = NULL;
  int fd;

  g_assert_true (g_file_set_contents (path, "", -1, NULL));

  fd = open (path, O_RDONLY);
  g_assert_null (bt_destination_new_for_fd (fd, &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  close (fd);

  fd = open (path, O_WRONLY | O_APPEND);
  g_assert_null (bt_destination_new_for_fd (fd, &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  close (fd);

  fd = open (f->dir, O_RDONLY | O_DIRECTORY);
  g_assert_null (bt_destination_new_for_fd (fd, &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  close (fd);

  fd = open ("/dev/zero", O_WRONLY);
  g_assert_null (bt_destination_new_for_fd (fd, &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  close (fd);

  fd = open (path, O_WRONLY);
  dest = bt_destination_new_for_fd (fd, &error);
  close (fd);
  g_assert_no_error (error);
  g_assert_true (
      bt_destination_write (dest, 0, "abcdef", 6, (bt_destination_open (dest, NULL), &error)));
  g_assert_true (bt_destination_commit (dest, 3, &error));
  {
    g_autofree char *now = read_file (path);

    g_assert_cmpstr (now, ==, "abc");
  }
}

/* After a crash of the service, what it wrote counts within the same boot;
 * after a reboot only the flushed checkpoint does */
static void
test_recover (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "file", NULL);
  g_autofree char *part = g_strconcat (path, ".bgtpart", NULL);
  BtDestination *dest;
  struct stat st;

  g_assert_true (g_file_set_contents (part, "0123456789", 10, NULL));

  dest = bt_destination_new_recovered (path, FALSE);
  g_assert_cmpuint (bt_destination_recover (dest, 4, TRUE), ==, 10);
  bt_destination_free (dest);
  g_assert_cmpint (g_stat (part, &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, 10);

  dest = bt_destination_new_recovered (path, FALSE);
  g_assert_cmpuint (bt_destination_recover (dest, 4, FALSE), ==, 4);
  bt_destination_free (dest);
  g_assert_cmpint (g_stat (part, &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, 4);

  /* Shorter than recorded: something else cut it; start over */
  dest = bt_destination_new_recovered (path, FALSE);
  g_assert_cmpuint (bt_destination_recover (dest, 8, TRUE), ==, 0);
  bt_destination_free (dest);

  g_assert_nonnull (bt_boot_id ());
  g_assert_cmpstr (bt_boot_id (), !=, "");
}

/* After a crash between the rename and its record: the file in place is
 * ours if it is the very partial file we created, never a file someone
 * else put there */
static void
test_was_committed (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "file", NULL);
  g_autofree char *part = g_strconcat (path, ".bgtpart", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (BtDestination) created = bt_destination_new_for_path (path, FALSE, &error);
  g_autoptr (BtDestination) recovered = NULL;
  g_autoptr (BtDestination) other = NULL;
  guint64 dev, ino;

  g_assert_no_error (error);
  g_assert_true (bt_destination_get_part_identity (created, &dev, &ino));
  g_assert_true (bt_destination_part_identity_recorded (created));
  g_assert_true (bt_destination_open (created, &error) >= 0);
  g_assert_true (bt_destination_write (created, 0, "abc", 3, &error));
  g_assert_cmpint (bt_flusher_flush (bt_destination_get_flusher (created),
                                     bt_destination_open (created, NULL), 3),
                   ==, 0);
  bt_destination_close (created);

  /* Not renamed yet: nothing is in place */
  recovered = bt_destination_new_recovered (path, FALSE);
  bt_destination_set_part_identity (recovered, dev, ino);
  g_assert_false (bt_destination_was_committed (recovered, 3));

  /* Renamed: the same file, ours */
  g_assert_true (bt_destination_rename (created, &error));
  g_assert_no_error (error);
  g_assert_true (bt_destination_was_committed (recovered, 3));

  /* Someone else's file of the same size in its place (written beside
   * and renamed over ours, so not in a reused inode): not ours */
  g_assert_true (g_file_set_contents (path, "xyz", 3, NULL));
  g_assert_false (bt_destination_was_committed (recovered, 3));
  /* …though a record older than identities could not tell */
  other = bt_destination_new_recovered (path, FALSE);
  g_assert_true (bt_destination_was_committed (other, 3));
  g_assert_false (g_file_test (part, G_FILE_TEST_EXISTS));
}

/* A completion recorded while its data was being made durable, after a
 * crash: believed only if the partial file we created is in place */
static void
test_is_in_place (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "file", NULL);
  g_autofree char *part = g_strconcat (path, ".bgtpart", NULL);
  g_autofree char *aside = g_build_filename (f->dir, "aside", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (BtDestination) created = bt_destination_new_for_path (path, FALSE, &error);
  g_autoptr (BtDestination) recovered = NULL;
  guint64 dev, ino;

  g_assert_no_error (error);
  g_assert_true (bt_destination_get_part_identity (created, &dev, &ino));
  g_assert_true (bt_destination_open (created, &error) >= 0);
  g_assert_true (bt_destination_write (created, 0, "abc", 3, &error));
  bt_destination_close (created);
  recovered = bt_destination_new_recovered (path, FALSE);
  bt_destination_set_part_identity (recovered, dev, ino);

  /* Not renamed: the data may not be flushed, whatever its size */
  g_assert_false (bt_destination_is_in_place (recovered, 3));
  g_assert_true (g_file_test (part, G_FILE_TEST_EXISTS));

  /* Renamed: in place, ours, of its size */
  g_assert_true (bt_destination_rename (created, &error));
  g_assert_no_error (error);
  g_assert_true (bt_destination_is_in_place (recovered, 3));
  g_assert_false (bt_destination_is_in_place (recovered, 4));

  /* Moved away (kept, so that the file below cannot reuse its inode),
   * someone else's file of the same size in its place: not ours */
  g_assert_cmpint (g_rename (path, aside), ==, 0);
  g_assert_false (bt_destination_is_in_place (recovered, 3));
  g_assert_true (g_file_set_contents (path, "xyz", 3, NULL));
  g_assert_false (bt_destination_is_in_place (recovered, 3));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, setup, func, teardown)
  ADD ("/destination/write-commit", test_write_commit);
  ADD ("/destination/failed-flush-stands", test_failed_flush_stands);
  ADD ("/destination/existing-refused", test_existing_refused);
  ADD ("/destination/no-replace-race", test_no_replace_race);
  ADD ("/destination/part-in-use", test_part_in_use);
  ADD ("/destination/symlinked-part", test_symlinked_part);
  ADD ("/destination/symlink-swapped-in", test_symlink_swapped_in);
  ADD ("/destination/discard", test_discard);
  ADD ("/destination/fd-checks", test_fd_checks);
  ADD ("/destination/recover", test_recover);
  ADD ("/destination/was-committed", test_was_committed);
  ADD ("/destination/is-in-place", test_is_in_place);
#undef ADD

  return g_test_run ();
}
