/* Unit tests of the archive of finished transfers (bt-archive.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "bt-archive.h"

static void
count (gpointer data, gpointer user_data)
{
  (*(guint *) user_data)++;
}

static void
test_add_lookup_remove (void)
{
  g_autoptr (BtArchive) archive = bt_archive_new ();
  g_autofree char *long_id = g_strnfill (40, 'x');
  const BtArchived *found;
  guint n = 0;

  /* More than a block of entries, one with a long id */
  for (guint i = 0; i < 3000; i++)
    {
      g_autofree char *id = g_strdup_printf ("%032x", i);
      BtArchived archived = { id,
                              "org.example.App",
                              i % 2 ? "g" : NULL,
                              i,
                              BT_KIND_DOWNLOAD,
                              BT_STATUS_COMPLETED,
                              BT_ERROR_STATUS_NONE };

      bt_archive_add (archive, &archived);
    }
  {
    BtArchived archived = { long_id,         "org.example.Other",      NULL, 9999, BT_KIND_UPLOAD,
                            BT_STATUS_ERROR, BT_ERROR_STATUS_NOT_FOUND };

    bt_archive_add (archive, &archived);
  }
  g_assert_cmpuint (bt_archive_get_size (archive), ==, 3001);
  found = bt_archive_lookup (archive, "00000000000000000000000000000007");
  g_assert_nonnull (found);
  g_assert_cmpuint (found->seq, ==, 7);
  g_assert_cmpstr (found->group, ==, "g");
  g_assert_cmpstr (found->app_id, ==, "org.example.App");
  found = bt_archive_lookup (archive, long_id);
  g_assert_nonnull (found);
  g_assert_cmpint (found->error_status, ==, BT_ERROR_STATUS_NOT_FOUND);
  g_assert_cmpint (found->kind, ==, BT_KIND_UPLOAD);

  /* Removed ones are gone, and their room is taken again */
  bt_archive_remove (archive, long_id);
  bt_archive_remove (archive, "00000000000000000000000000000007");
  bt_archive_remove (archive, "not-there");
  g_assert_null (bt_archive_lookup (archive, long_id));
  g_assert_null (bt_archive_lookup (archive, "00000000000000000000000000000007"));
  {
    BtArchived archived = { "again",
                            "org.example.App",
                            NULL,
                            1,
                            BT_KIND_DOWNLOAD,
                            BT_STATUS_CANCELED,
                            BT_ERROR_STATUS_NONE };

    bt_archive_add (archive, &archived);
  }
  g_assert_nonnull (bt_archive_lookup (archive, "00000000000000000000000000000008"));
  g_assert_cmpint (bt_archive_lookup (archive, "again")->status, ==, BT_STATUS_CANCELED);
  bt_archive_foreach (archive, count, &n);
  g_assert_cmpuint (n, ==, 3000);
}

/* A record is archived only if it is of a finished transfer */
static void
test_add_record (void)
{
  g_autoptr (BtArchive) archive = bt_archive_new ();
  g_autoptr (GVariant) done = g_variant_ref_sink (
      g_variant_new_parsed ("{'kind': <'download'>, 'status': <'completed'>, 'group': <'g'>, "
                            "'completed-time': <int64 1234>}"));
  g_autoptr (GVariant) failed = g_variant_ref_sink (g_variant_new_parsed (
      "{'kind': <'upload'>, 'status': <'error'>, 'error-status': <'forbidden'>}"));
  g_autoptr (GVariant) running
      = g_variant_ref_sink (g_variant_new_parsed ("{'kind': <'download'>, 'status': <'running'>}"));
  g_autoptr (GVariant) nonsense = g_variant_ref_sink (
      g_variant_new_parsed ("{'kind': <'sideways'>, 'status': <'completed'>}"));
  gint64 completed_time = -1;

  g_assert_true (bt_archive_add_record (archive, "a", "app", 1, done, &completed_time));
  g_assert_cmpint (completed_time, ==, 1234);
  g_assert_cmpstr (bt_archive_lookup (archive, "a")->group, ==, "g");
  g_assert_true (bt_archive_add_record (archive, "b", "app", 2, failed, &completed_time));
  g_assert_cmpint (completed_time, ==, 0);
  g_assert_cmpint (bt_archive_lookup (archive, "b")->error_status, ==, BT_ERROR_STATUS_FORBIDDEN);
  g_assert_false (bt_archive_add_record (archive, "c", "app", 3, running, &completed_time));
  g_assert_false (bt_archive_add_record (archive, "d", "app", 4, nonsense, &completed_time));
  g_assert_cmpuint (bt_archive_get_size (archive), ==, 2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/archive/add-lookup-remove", test_add_lookup_remove);
  g_test_add_func ("/archive/add-record", test_add_record);
  return g_test_run ();
}
