/* bt-store.c: the state store (SQLite, WAL)
 *
 * One row per transfer: its id, owner, creation order and a GVariant a{sv}
 * of everything else (never a secret). Changes are gathered and committed
 * in one transaction from the main loop (group commit); a D-Bus call that
 * changes state is answered only once its change is committed. A store
 * that cannot be opened or read is moved aside and a fresh one is started:
 * the service never refuses to start, nor crashes, on bad state.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>

#include <gio/gunixfdlist.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "bt-error.h"
#include "bt-store.h"

#define SCHEMA_VERSION 2
#define RETRY_FLUSH_S 5

typedef struct
{
  char *app_id;
  guint64 seq;
  GVariant *data; /* NULL: delete */
} PendingRow;

typedef struct
{
  GDBusMethodInvocation *invocation;
  GVariant *reply;
  GUnixFDList *fd_list;
} Waiter;

struct _BtStore
{
  GObject parent_instance;

  sqlite3 *db;
  char *path;
  GHashTable *pending;         /* id → PendingRow */
  GHashTable *pending_objects; /* key → GVariant, or NULL to delete */
  GPtrArray *waiters;
  guint flush_source;
  gboolean lazy; /* nothing pending needs to survive a power cut */
};

G_DEFINE_TYPE (BtStore, bt_store, G_TYPE_OBJECT)

static void
pending_row_free (PendingRow *row)
{
  g_free (row->app_id);
  g_clear_pointer (&row->data, g_variant_unref);
  g_free (row);
}

static void
waiter_free (Waiter *waiter)
{
  g_clear_object (&waiter->invocation);
  g_clear_pointer (&waiter->reply, g_variant_unref);
  g_clear_object (&waiter->fd_list);
  g_free (waiter);
}

static gboolean
exec_sql (sqlite3 *db, const char *sql, GError **error)
{
  char *message = NULL;

  if (sqlite3_exec (db, sql, NULL, NULL, &message) != SQLITE_OK)
    {
      g_set_error (error, BT_ERROR, BT_ERROR_FAILED, "State store: %s",
                   message != NULL ? message : sqlite3_errmsg (db));
      sqlite3_free (message);
      return FALSE;
    }
  return TRUE;
}

static int
get_int (sqlite3 *db, const char *sql, int fallback)
{
  sqlite3_stmt *stmt = NULL;
  int value = fallback;

  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) == SQLITE_OK
      && sqlite3_step (stmt) == SQLITE_ROW)
    value = sqlite3_column_int (stmt, 0);
  sqlite3_finalize (stmt);
  return value;
}

static gboolean
check_integrity (sqlite3 *db)
{
  sqlite3_stmt *stmt = NULL;
  gboolean ok = FALSE;

  if (sqlite3_prepare_v2 (db, "PRAGMA quick_check", -1, &stmt, NULL) == SQLITE_OK
      && sqlite3_step (stmt) == SQLITE_ROW)
    ok = g_strcmp0 ((const char *) sqlite3_column_text (stmt, 0), "ok") == 0;
  sqlite3_finalize (stmt);
  return ok;
}

static gboolean
migrate (sqlite3 *db, GError **error)
{
  int version = get_int (db, "PRAGMA user_version", -1);

  if (version < 0)
    {
      g_set_error_literal (error, BT_ERROR, BT_ERROR_FAILED, "Cannot read the schema version");
      return FALSE;
    }
  if (version > SCHEMA_VERSION)
    {
      g_set_error (error, BT_ERROR, BT_ERROR_FAILED,
                   "The state store has schema version %d, newer than this service's %d", version,
                   SCHEMA_VERSION);
      return FALSE;
    }
  if (version == 0)
    {
      if (!exec_sql (db,
                     "BEGIN;"
                     "CREATE TABLE transfers ("
                     "  id TEXT PRIMARY KEY NOT NULL,"
                     "  app_id TEXT NOT NULL,"
                     "  seq INTEGER NOT NULL,"
                     "  data BLOB NOT NULL);"
                     "CREATE INDEX transfers_app ON transfers (app_id);"
                     "PRAGMA user_version = 1;"
                     "COMMIT;",
                     error))
        return FALSE;
      version = 1;
    }
  if (version == 1)
    {
      /* 2: transfer groups and completion groups */
      if (!exec_sql (db,
                     "BEGIN;"
                     "CREATE TABLE objects ("
                     "  key TEXT PRIMARY KEY NOT NULL,"
                     "  data BLOB NOT NULL);"
                     "PRAGMA user_version = 2;"
                     "COMMIT;",
                     error))
        return FALSE;
      version = 2;
    }
  return TRUE;
}

static sqlite3 *
open_db (const char *path, GError **error)
{
  sqlite3 *db = NULL;
  int rc;

  rc = sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL);
  if (rc != SQLITE_OK)
    {
      g_set_error (error, BT_ERROR, BT_ERROR_FAILED, "Cannot open the state store “%s”: %s", path,
                   db != NULL ? sqlite3_errmsg (db) : sqlite3_errstr (rc));
      sqlite3_close (db);
      return NULL;
    }
  sqlite3_busy_timeout (db, 5000);
  if (g_chmod (path, 0600) < 0)
    g_debug ("Cannot chmod %s: %s", path, g_strerror (errno));

  if (!check_integrity (db))
    {
      g_set_error (error, BT_ERROR, BT_ERROR_FAILED, "The state store “%s” is damaged", path);
      sqlite3_close (db);
      return NULL;
    }
  /* WAL with FULL sync: a committed change survives a power cut */
  if (!exec_sql (db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", error)
      || !migrate (db, error))
    {
      sqlite3_close (db);
      return NULL;
    }
  return db;
}

static void
move_aside (const char *path)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%dT%H%M%SZ");
  static const char *const suffixes[] = { "", "-wal", "-shm" };

  for (gsize i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *from = g_strconcat (path, suffixes[i], NULL);
      g_autofree char *to = g_strdup_printf ("%s.damaged-%s%s", path, stamp, suffixes[i]);

      if (g_rename (from, to) == 0)
        g_warning ("Moved the unusable state file %s aside to %s", from, to);
    }
}

static void
bt_store_finalize (GObject *object)
{
  BtStore *self = BT_STORE (object);
  g_autoptr (GError) error = NULL;

  if (!bt_store_flush (self, &error))
    g_warning ("%s", error->message);
  g_clear_handle_id (&self->flush_source, g_source_remove);
  sqlite3_close (self->db);
  g_hash_table_unref (self->pending);
  g_hash_table_unref (self->pending_objects);
  g_ptr_array_unref (self->waiters);
  g_free (self->path);

  G_OBJECT_CLASS (bt_store_parent_class)->finalize (object);
}

static void
bt_store_class_init (BtStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = bt_store_finalize;
}

static void
bt_store_init (BtStore *self)
{
  self->pending
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) pending_row_free);
  self->waiters = g_ptr_array_new_with_free_func ((GDestroyNotify) waiter_free);
  self->pending_objects
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_variant_unref);
}

BtStore *
bt_store_open (const char *path, GError **error)
{
  g_autoptr (BtStore) self = g_object_new (BT_TYPE_STORE, NULL);
  g_autoptr (GError) local_error = NULL;
  g_autofree char *dir = g_path_get_dirname (path);

  if (g_mkdir_with_parents (dir, 0700) < 0)
    {
      g_set_error (error, BT_ERROR, BT_ERROR_FAILED, "Cannot create the state directory “%s”: %s",
                   dir, g_strerror (errno));
      return NULL;
    }

  self->path = g_strdup (path);
  self->db = open_db (path, &local_error);
  if (self->db == NULL)
    {
      g_warning ("%s; starting with an empty store", local_error->message);
      move_aside (path);
      self->db = open_db (path, error);
      if (self->db == NULL)
        return NULL;
    }
  return g_steal_pointer (&self);
}

void
bt_store_load (BtStore *self, BtStoreLoadFunc func, gpointer user_data)
{
  sqlite3_stmt *stmt = NULL;

  if (sqlite3_prepare_v2 (self->db, "SELECT id, app_id, seq, data FROM transfers ORDER BY seq", -1,
                          &stmt, NULL)
      != SQLITE_OK)
    {
      g_warning ("Cannot read the state store: %s", sqlite3_errmsg (self->db));
      return;
    }

  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      const char *id = (const char *) sqlite3_column_text (stmt, 0);
      const char *app_id = (const char *) sqlite3_column_text (stmt, 1);
      guint64 seq = (guint64) sqlite3_column_int64 (stmt, 2);
      const void *blob = sqlite3_column_blob (stmt, 3);
      gsize size = (gsize) sqlite3_column_bytes (stmt, 3);
      g_autoptr (GBytes) bytes = NULL;
      g_autoptr (GVariant) data = NULL;

      if (id == NULL || app_id == NULL || blob == NULL)
        {
          g_warning ("Skipping an incomplete transfer record");
          continue;
        }
      bytes = g_bytes_new (blob, size);
      data = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE_VARDICT, bytes, FALSE));
      if (!g_variant_is_normal_form (data))
        {
          g_warning ("Skipping the damaged record of transfer %s", id);
          continue;
        }
      func (id, app_id, seq, data, user_data);
    }
  sqlite3_finalize (stmt);
}

static gboolean
on_flush (gpointer user_data)
{
  BtStore *self = user_data;
  g_autoptr (GError) error = NULL;

  self->flush_source = 0;
  if (!bt_store_flush (self, &error))
    {
      g_warning ("%s", error->message);
      /* Try again later; what was committed before is intact */
      if (g_hash_table_size (self->pending) > 0)
        self->flush_source = g_timeout_add_seconds (RETRY_FLUSH_S, on_flush, self);
    }
  return G_SOURCE_REMOVE;
}

static void
schedule_flush (BtStore *self)
{
  if (self->flush_source == 0)
    self->flush_source = g_idle_add_full (G_PRIORITY_DEFAULT, on_flush, self, NULL);
}

static void
put (BtStore *self, const char *id, const char *app_id, guint64 seq, GVariant *data)
{
  PendingRow *row = g_new0 (PendingRow, 1);

  row->app_id = g_strdup (app_id);
  row->seq = seq;
  row->data = g_variant_ref_sink (data);
  g_hash_table_replace (self->pending, g_strdup (id), row);
  schedule_flush (self);
}

void
bt_store_put (BtStore *self, const char *id, const char *app_id, guint64 seq, GVariant *data)
{
  self->lazy = FALSE;
  put (self, id, app_id, seq, data);
}

/*
 * bt_store_put_progress:
 *
 * Like bt_store_put(), for a record that only moves a transfer's progress
 * forward: its commit is not flushed to the disk unless something else in
 * the same commit must be. A crash of the service loses nothing (SQLite's
 * WAL is in the page cache); a power cut may lose it, which leaves an
 * older, still true, record.
 */
void
bt_store_put_progress (BtStore *self, const char *id, const char *app_id, guint64 seq,
                       GVariant *data)
{
  if (g_hash_table_size (self->pending) == 0 && self->waiters->len == 0)
    self->lazy = TRUE;
  put (self, id, app_id, seq, data);
}

void
bt_store_delete (BtStore *self, const char *id)
{
  g_hash_table_replace (self->pending, g_strdup (id), g_new0 (PendingRow, 1));
  self->lazy = FALSE;
  schedule_flush (self);
}

/* Answers a D-Bus call once everything changed so far is committed. Like
 * g_dbus_method_invocation_return_value(), it takes the caller's
 * reference to @invocation. */
void
bt_store_when_durable (BtStore *self, GDBusMethodInvocation *invocation, GVariant *reply,
                       GUnixFDList *fd_list)
{
  Waiter *waiter = g_new0 (Waiter, 1);

  waiter->invocation = invocation;
  waiter->reply = reply != NULL ? g_variant_ref_sink (reply) : NULL;
  waiter->fd_list = fd_list != NULL ? g_object_ref (fd_list) : NULL;
  g_ptr_array_add (self->waiters, waiter);
  self->lazy = FALSE;
  schedule_flush (self);
}

static gboolean
write_pending_objects (BtStore *self, GError **error)
{
  sqlite3_stmt *put = NULL, *del = NULL;
  GHashTableIter iter;
  gpointer key, value;
  gboolean ok = TRUE;

  if (sqlite3_prepare_v2 (self->db, "INSERT OR REPLACE INTO objects (key, data) VALUES (?, ?)", -1,
                          &put, NULL)
          != SQLITE_OK
      || sqlite3_prepare_v2 (self->db, "DELETE FROM objects WHERE key = ?", -1, &del, NULL)
             != SQLITE_OK)
    {
      g_set_error (error, BT_ERROR, BT_ERROR_FAILED, "State store: %s", sqlite3_errmsg (self->db));
      sqlite3_finalize (put);
      sqlite3_finalize (del);
      return FALSE;
    }
  g_hash_table_iter_init (&iter, self->pending_objects);
  while (ok && g_hash_table_iter_next (&iter, &key, &value))
    {
      GVariant *data = value;
      sqlite3_stmt *stmt = g_variant_n_children (data) > 0 ? put : del;

      sqlite3_reset (stmt);
      sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
      if (stmt == put)
        sqlite3_bind_blob (stmt, 2, g_variant_get_data (data), (int) g_variant_get_size (data),
                           SQLITE_STATIC);
      if (sqlite3_step (stmt) != SQLITE_DONE)
        {
          g_set_error (error, BT_ERROR, BT_ERROR_FAILED, "Cannot save the state: %s",
                       sqlite3_errmsg (self->db));
          ok = FALSE;
        }
    }
  sqlite3_finalize (put);
  sqlite3_finalize (del);
  return ok;
}

/* Other objects (groups): a record per key; an empty record deletes */
void
bt_store_put_object (BtStore *self, const char *key, GVariant *data)
{
  g_hash_table_replace (self->pending_objects, g_strdup (key), g_variant_ref_sink (data));
  self->lazy = FALSE;
  schedule_flush (self);
}

void
bt_store_delete_object (BtStore *self, const char *key)
{
  bt_store_put_object (self, key, g_variant_new ("a{sv}", NULL));
}

void
bt_store_load_objects (BtStore *self, BtStoreObjectFunc func, gpointer user_data)
{
  sqlite3_stmt *stmt = NULL;

  if (sqlite3_prepare_v2 (self->db, "SELECT key, data FROM objects ORDER BY key", -1, &stmt, NULL)
      != SQLITE_OK)
    return;
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      const char *key = (const char *) sqlite3_column_text (stmt, 0);
      g_autoptr (GBytes) bytes
          = g_bytes_new (sqlite3_column_blob (stmt, 1), (gsize) sqlite3_column_bytes (stmt, 1));
      g_autoptr (GVariant) data
          = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE_VARDICT, bytes, FALSE));

      if (key != NULL && g_variant_is_normal_form (data))
        func (key, data, user_data);
    }
  sqlite3_finalize (stmt);
}

static gboolean
write_pending (BtStore *self, GError **error)
{
  sqlite3_stmt *put = NULL, *del = NULL;
  GHashTableIter iter;
  gpointer key, value;
  gboolean ok = TRUE;

  if (sqlite3_prepare_v2 (self->db,
                          "INSERT OR REPLACE INTO transfers (id, app_id, seq, data) "
                          "VALUES (?, ?, ?, ?)",
                          -1, &put, NULL)
          != SQLITE_OK
      || sqlite3_prepare_v2 (self->db, "DELETE FROM transfers WHERE id = ?", -1, &del, NULL)
             != SQLITE_OK)
    {
      g_set_error (error, BT_ERROR, BT_ERROR_FAILED, "State store: %s", sqlite3_errmsg (self->db));
      sqlite3_finalize (put);
      sqlite3_finalize (del);
      return FALSE;
    }

  g_hash_table_iter_init (&iter, self->pending);
  while (ok && g_hash_table_iter_next (&iter, &key, &value))
    {
      PendingRow *row = value;
      sqlite3_stmt *stmt = row->data != NULL ? put : del;

      sqlite3_reset (stmt);
      sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
      if (row->data != NULL)
        {
          sqlite3_bind_text (stmt, 2, row->app_id, -1, SQLITE_STATIC);
          sqlite3_bind_int64 (stmt, 3, (sqlite3_int64) row->seq);
          sqlite3_bind_blob (stmt, 4, g_variant_get_data (row->data),
                             (int) g_variant_get_size (row->data), SQLITE_STATIC);
        }
      if (sqlite3_step (stmt) != SQLITE_DONE)
        {
          g_set_error (error, BT_ERROR, BT_ERROR_FAILED, "Cannot save the state: %s",
                       sqlite3_errmsg (self->db));
          ok = FALSE;
        }
    }
  sqlite3_finalize (put);
  sqlite3_finalize (del);
  return ok && write_pending_objects (self, error);
}

/*
 * bt_store_flush:
 *
 * Commits every pending change in one transaction, then answers the
 * waiting calls: with their reply on success, with the error otherwise.
 */
gboolean
bt_store_flush (BtStore *self, GError **error)
{
  g_autoptr (GPtrArray) waiters = g_steal_pointer (&self->waiters);
  g_autoptr (GError) local_error = NULL;
  gboolean ok = TRUE;

  self->waiters = g_ptr_array_new_with_free_func ((GDestroyNotify) waiter_free);
  g_clear_handle_id (&self->flush_source, g_source_remove);

  if (g_hash_table_size (self->pending) > 0 || g_hash_table_size (self->pending_objects) > 0)
    {
      ok = exec_sql (self->db, self->lazy ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL",
                     &local_error)
           && exec_sql (self->db, "BEGIN IMMEDIATE", &local_error)
           && write_pending (self, &local_error) && exec_sql (self->db, "COMMIT", &local_error);
      if (ok)
        {
          self->lazy = FALSE;
          g_hash_table_remove_all (self->pending);
          g_hash_table_remove_all (self->pending_objects);
        }
      else
        exec_sql (self->db, "ROLLBACK", NULL);
    }

  for (guint i = 0; i < waiters->len; i++)
    {
      Waiter *waiter = g_ptr_array_index (waiters, i);

      if (!ok)
        g_dbus_method_invocation_return_error (g_steal_pointer (&waiter->invocation), BT_ERROR,
                                               BT_ERROR_FAILED, "%s", local_error->message);
      else
        g_dbus_method_invocation_return_value_with_unix_fd_list (
            g_steal_pointer (&waiter->invocation), waiter->reply, waiter->fd_list);
    }

  if (!ok)
    g_propagate_error (error, g_steal_pointer (&local_error));
  return ok;
}
