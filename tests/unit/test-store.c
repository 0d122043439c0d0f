/* Unit tests of the state store's group commit (bt-store.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gstdio.h>
#include <sqlite3.h>

#include "bt-store.h"

typedef struct
{
  char *dir;
  char *path;
  BtStore *store;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->dir = g_dir_make_tmp ("bt-store-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  f->path = g_build_filename (f->dir, "state.db", NULL);
  f->store = bt_store_open (f->path, &error);
  g_assert_no_error (error);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  static const char *const suffixes[] = { "", "-wal", "-shm" };

  g_clear_object (&f->store);
  for (gsize i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *p = g_strconcat (f->path, suffixes[i], NULL);
      g_unlink (p);
    }
  g_rmdir (f->dir);
  g_free (f->path);
  g_free (f->dir);
}

static GVariant *
record (const char *value)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "v", g_variant_new_string (value));
  return g_variant_builder_end (&b);
}

static void
collect (const char *id, const char *app_id, guint64 seq, GVariant *data, gpointer user_data)
{
  const char *v = NULL;

  g_variant_lookup (data, "v", "&s", &v);
  g_hash_table_insert (user_data, g_strdup (id), g_strdup (v));
}

/* What another opening of the store reads: id → value */
static GHashTable *
stored (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BtStore) other = bt_store_open (f->path, &error);
  GHashTable *rows = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  g_assert_no_error (error);
  bt_store_load (other, collect, rows);
  return rows;
}

typedef struct
{
  guint calls;
  GError *error;
  GHashTable *seen; /* what was stored when it was called */
  Fixture *f;
} Committed;

static void
on_committed (const GError *error, gpointer user_data)
{
  Committed *c = user_data;

  c->calls++;
  if (error != NULL)
    c->error = g_error_copy (error);
  g_clear_pointer (&c->seen, g_hash_table_unref);
  c->seen = stored (c->f);
}

static void
spin_until (guint *counter, guint value)
{
  while (*counter < value)
    g_main_context_iteration (NULL, TRUE);
}

/* A callback is called once what was put before it is on disk, not before */
static void
test_when_committed (Fixture *f, gconstpointer data)
{
  Committed c = { 0 };

  c.f = f;
  bt_store_put (f->store, "a", "app", 1, record ("one"));
  bt_store_when_committed (f->store, on_committed, &c);
  g_assert_cmpuint (c.calls, ==, 0);
  spin_until (&c.calls, 1);
  g_assert_no_error (c.error);
  g_assert_cmpstr (g_hash_table_lookup (c.seen, "a"), ==, "one");
  g_hash_table_unref (c.seen);
}

/* Changes made while a transaction is under way go into the next one,
 * together; a callback waits for the transaction with its changes */
static void
test_group_commit (Fixture *f, gconstpointer data)
{
  Committed first = { 0 }, second = { 0 };

  first.f = second.f = f;
  bt_store_put (f->store, "a", "app", 1, record ("one"));
  bt_store_when_committed (f->store, on_committed, &first);
  /* The idle flush hands the first transaction to the worker */
  g_main_context_iteration (NULL, FALSE);
  for (guint i = 0; i < 50; i++)
    {
      g_autofree char *id = g_strdup_printf ("b%u", i);

      bt_store_put (f->store, id, "app", 10 + i, record ("many"));
    }
  bt_store_put (f->store, "a", "app", 1, record ("two"));
  bt_store_when_committed (f->store, on_committed, &second);
  spin_until (&second.calls, 1);
  g_assert_cmpuint (first.calls, ==, 1);
  g_assert_no_error (first.error);
  g_assert_no_error (second.error);
  /* The first saw its own change only; the second all the rest at once */
  g_assert_cmpstr (g_hash_table_lookup (first.seen, "a"), ==, "one");
  g_assert_cmpuint (g_hash_table_size (first.seen), ==, 1);
  g_assert_cmpstr (g_hash_table_lookup (second.seen, "a"), ==, "two");
  g_assert_cmpuint (g_hash_table_size (second.seen), ==, 51);
  g_hash_table_unref (first.seen);
  g_hash_table_unref (second.seen);
}

static GVariant *
serialize_label (gpointer object)
{
  return record (g_object_get_data (object, "label"));
}

/* An object saved several times before a commit is written as it is
 * when the commit begins */
static void
test_save_serializes_at_commit (Fixture *f, gconstpointer data)
{
  g_autoptr (GObject) object = g_object_new (G_TYPE_OBJECT, NULL);
  Committed c = { 0 };

  c.f = f;
  g_object_set_data (object, "label", (gpointer) "early");
  bt_store_save (f->store, "o", "app", 1, object, serialize_label, FALSE);
  g_object_set_data (object, "label", (gpointer) "late");
  bt_store_save (f->store, "o", "app", 1, object, serialize_label, TRUE);
  bt_store_when_committed (f->store, on_committed, &c);
  spin_until (&c.calls, 1);
  g_assert_cmpstr (g_hash_table_lookup (c.seen, "o"), ==, "late");
  g_hash_table_unref (c.seen);
}

/* A flush on the spot, while a transaction is under way in the worker,
 * waits for it (its changes are older) and answers both */
static void
test_flush_while_committing (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) rows = NULL;
  Committed c = { 0 };

  c.f = f;
  bt_store_put (f->store, "a", "app", 1, record ("old"));
  bt_store_when_committed (f->store, on_committed, &c);
  /* The idle flush hands the transaction to the worker */
  g_main_context_iteration (NULL, FALSE);
  bt_store_put (f->store, "a", "app", 1, record ("new"));
  g_assert_true (bt_store_flush (f->store, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (c.calls, ==, 1);
  rows = stored (f);
  g_assert_cmpstr (g_hash_table_lookup (rows, "a"), ==, "new");
  /* The worker's late answer changes nothing */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (c.calls, ==, 1);
  g_hash_table_unref (c.seen);
}

/* The rowid of transfer @id in the store's file */
static gint64
rowid_of (Fixture *f, const char *id)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 rowid = -1;

  g_assert_cmpint (sqlite3_open_v2 (f->path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (
      sqlite3_prepare_v2 (db, "SELECT rowid FROM transfers WHERE id = ?", -1, &stmt, NULL), ==,
      SQLITE_OK);
  sqlite3_bind_text (stmt, 1, id, -1, SQLITE_STATIC);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    rowid = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return rowid;
}

/* A record saved again is updated where it is, not deleted and inserted
 * anew (which rewrote the table's and both indexes' pages every time) */
static void
test_saved_again_in_place (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) rows = NULL;
  gint64 rowid;

  bt_store_put (f->store, "a", "app", 1, record ("one"));
  bt_store_put (f->store, "b", "app", 2, record ("other"));
  g_assert_true (bt_store_flush (f->store, &error));
  rowid = rowid_of (f, "a");
  g_assert_cmpint (rowid, >, 0);
  bt_store_put (f->store, "a", "app", 1, record ("two"));
  g_assert_true (bt_store_flush (f->store, &error));
  g_assert_no_error (error);
  g_assert_cmpint (rowid_of (f, "a"), ==, rowid);
  rows = stored (f);
  g_assert_cmpuint (g_hash_table_size (rows), ==, 2);
  g_assert_cmpstr (g_hash_table_lookup (rows, "a"), ==, "two");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/store/when-committed", Fixture, NULL, setup, test_when_committed, teardown);
  g_test_add ("/store/group-commit", Fixture, NULL, setup, test_group_commit, teardown);
  g_test_add ("/store/save-serializes-at-commit", Fixture, NULL, setup,
              test_save_serializes_at_commit, teardown);
  g_test_add ("/store/saved-again-in-place", Fixture, NULL, setup, test_saved_again_in_place,
              teardown);
  g_test_add ("/store/flush-while-committing", Fixture, NULL, setup, test_flush_while_committing,
              teardown);
  return g_test_run ();
}
