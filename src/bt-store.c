/* bt-store.c: the state store (SQLite, WAL)
 *
 * One row per transfer: its id, owner, creation order and a GVariant a{sv}
 * of everything else (never a secret). Changes are gathered and committed
 * in one transaction (group commit) by a worker thread, so that the main
 * loop never waits for the disk: what changes while a transaction is being
 * committed goes into the next one, and a busy service commits in large
 * batches rather than often. A D-Bus call that changes state is answered,
 * and a bt_store_when_committed() callback called, only once its change is
 * committed. A store
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
  GVariant *data; /* NULL: delete, unless object is set */
  /* A record written as its object is when the transaction begins: an
   * object saved several times meanwhile is serialised once */
  GObject *object;
  BtStoreSerializeFunc serialize;
} PendingRow;

typedef struct
{
  GDBusMethodInvocation *invocation; /* answered with reply, or */
  GVariant *reply;
  GUnixFDList *fd_list;
  BtStoreCommittedFunc func; /* called */
  gpointer user_data;
} Waiter;

/* One transaction: what was pending when it started */
typedef struct
{
  GHashTable *rows;    /* id → PendingRow */
  GHashTable *objects; /* key → GVariant */
  GPtrArray *waiters;
  gboolean lazy;
  /* Written by the worker under BtStore.lock */
  gboolean done;
  GError *error; /* NULL on success */
  /* Main thread: its waiters were answered */
  gboolean finished;
} Batch;

struct _BtStore
{
  GObject parent_instance;

  sqlite3 *db; /* used under lock only: by the worker and the main thread */
  GMutex lock;
  GCond done_cond; /* a batch is done */
  char *path;
  GHashTable *pending;         /* id → PendingRow */
  GHashTable *pending_objects; /* key → GVariant, or NULL to delete */
  GPtrArray *waiters;
  guint flush_source;
  gboolean lazy; /* nothing pending needs to survive a power cut */
  Batch *batch;  /* being committed by the worker, or NULL */
};

G_DEFINE_TYPE (BtStore, bt_store, G_TYPE_OBJECT)

static void
pending_row_free (PendingRow *row)
{
  g_free (row->app_id);
  g_clear_pointer (&row->data, g_variant_unref);
  g_clear_object (&row->object);
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

static GHashTable *
new_pending_rows (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) pending_row_free);
}

static GHashTable *
new_pending_objects (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_variant_unref);
}

static void
batch_free (Batch *batch)
{
  g_hash_table_unref (batch->rows);
  g_hash_table_unref (batch->objects);
  g_ptr_array_unref (batch->waiters);
  g_clear_error (&batch->error);
  g_free (batch);
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
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->done_cond);

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
  self->pending = new_pending_rows ();
  self->waiters = g_ptr_array_new_with_free_func ((GDestroyNotify) waiter_free);
  self->pending_objects = new_pending_objects ();
  g_mutex_init (&self->lock);
  g_cond_init (&self->done_cond);
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

  g_mutex_lock (&self->lock);
  if (sqlite3_prepare_v2 (self->db, "SELECT id, app_id, seq, data FROM transfers ORDER BY seq", -1,
                          &stmt, NULL)
      != SQLITE_OK)
    {
      g_warning ("Cannot read the state store: %s", sqlite3_errmsg (self->db));
      g_mutex_unlock (&self->lock);
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
  g_mutex_unlock (&self->lock);
}

static void start_commit (BtStore *self);

static gboolean
on_flush (gpointer user_data)
{
  BtStore *self = user_data;

  self->flush_source = 0;
  start_commit (self);
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
 * bt_store_save:
 * @serialize: gives @object's record (floating), from the main loop
 * @progress: like bt_store_put_progress(): nothing that must survive a
 *   power cut
 *
 * Like bt_store_put(), for a record written as @object is when the next
 * transaction begins: however often it is saved until then, @object is
 * serialised once.
 */
void
bt_store_save (BtStore *self, const char *id, const char *app_id, guint64 seq, GObject *object,
               BtStoreSerializeFunc serialize, gboolean progress)
{
  PendingRow *row = g_new0 (PendingRow, 1);

  if (!progress)
    self->lazy = FALSE;
  else if (g_hash_table_size (self->pending) == 0 && g_hash_table_size (self->pending_objects) == 0
           && self->waiters->len == 0)
    self->lazy = TRUE;
  row->app_id = g_strdup (app_id);
  row->seq = seq;
  row->object = g_object_ref (object);
  row->serialize = serialize;
  g_hash_table_replace (self->pending, g_strdup (id), row);
  schedule_flush (self);
}

/* The records of saved objects, as the objects are now (main thread) */
static void
serialize_rows (GHashTable *rows)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, rows);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      PendingRow *row = value;

      if (row->object == NULL)
        continue;
      row->data = g_variant_ref_sink (row->serialize (row->object));
      g_clear_object (&row->object);
    }
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
  if (g_hash_table_size (self->pending) == 0 && g_hash_table_size (self->pending_objects) == 0
      && self->waiters->len == 0)
    self->lazy = TRUE;
  put (self, id, app_id, seq, data);
}

/* The pending row's record, serialised now if it is an object's */
static GVariant *
row_record (PendingRow *row)
{
  if (row->object != NULL)
    return g_variant_ref_sink (row->serialize (row->object));
  return row->data != NULL ? g_variant_ref (row->data) : NULL;
}

/*
 * bt_store_get:
 *
 * Returns: (transfer full) (nullable): the latest record of transfer @id:
 *   a change not committed yet, or else what the store holds; %NULL if
 *   there is none (or it is being deleted)
 */
GVariant *
bt_store_get (BtStore *self, const char *id)
{
  PendingRow *row = g_hash_table_lookup (self->pending, id);
  sqlite3_stmt *stmt = NULL;
  GVariant *record = NULL;

  /* The worker only reads the batch's rows: reading them here too is safe */
  if (row == NULL && self->batch != NULL)
    row = g_hash_table_lookup (self->batch->rows, id);
  if (row != NULL)
    return row_record (row);

  g_mutex_lock (&self->lock);
  if (sqlite3_prepare_v2 (self->db, "SELECT data FROM transfers WHERE id = ?", -1, &stmt, NULL)
      == SQLITE_OK)
    {
      sqlite3_bind_text (stmt, 1, id, -1, SQLITE_STATIC);
      if (sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_blob (stmt, 0) != NULL)
        {
          g_autoptr (GBytes) bytes
              = g_bytes_new (sqlite3_column_blob (stmt, 0), (gsize) sqlite3_column_bytes (stmt, 0));

          record = g_variant_ref_sink (
              g_variant_new_from_bytes (G_VARIANT_TYPE_VARDICT, bytes, FALSE));
          if (!g_variant_is_normal_form (record))
            g_clear_pointer (&record, g_variant_unref);
        }
    }
  else
    g_warning ("Cannot read the state store: %s", sqlite3_errmsg (self->db));
  sqlite3_finalize (stmt);
  g_mutex_unlock (&self->lock);
  return record;
}

void
bt_store_delete (BtStore *self, const char *id)
{
  g_hash_table_replace (self->pending, g_strdup (id), g_new0 (PendingRow, 1));
  self->lazy = FALSE;
  schedule_flush (self);
}

static void
add_waiter (BtStore *self, Waiter *waiter)
{
  g_ptr_array_add (self->waiters, waiter);
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
  add_waiter (self, waiter);
}

/*
 * bt_store_when_committed:
 * @func: called from the main loop once everything put so far is
 *   committed and flushed to the disk, or with the error if that failed
 *   (what failed is committed again later)
 *
 * Everyone who asks while a transaction is under way waits for the next
 * one, which carries all of their changes together.
 */
typedef struct
{
  BtStoreCommittedFunc func;
  gpointer user_data;
} Committed;

static gboolean
on_already_committed (gpointer data)
{
  Committed *committed = data;

  committed->func (NULL, committed->user_data);
  g_free (committed);
  return G_SOURCE_REMOVE;
}

void
bt_store_when_committed (BtStore *self, BtStoreCommittedFunc func, gpointer user_data)
{
  Waiter *waiter;

  /* Nothing pending and nothing being committed: it is all on disk */
  if (g_hash_table_size (self->pending) == 0 && g_hash_table_size (self->pending_objects) == 0
      && self->batch == NULL && self->flush_source == 0)
    {
      Committed *committed = g_new (Committed, 1);

      committed->func = func;
      committed->user_data = user_data;
      g_idle_add_full (G_PRIORITY_DEFAULT, on_already_committed, committed, NULL);
      return;
    }
  waiter = g_new0 (Waiter, 1);
  waiter->func = func;
  waiter->user_data = user_data;
  add_waiter (self, waiter);
}

static gboolean
write_objects (sqlite3 *db, GHashTable *objects, GError **error)
{
  sqlite3_stmt *put = NULL, *del = NULL;
  GHashTableIter iter;
  gpointer key, value;
  gboolean ok = TRUE;

  if (g_hash_table_size (objects) == 0)
    return TRUE;
  if (sqlite3_prepare_v2 (db,
                          "INSERT INTO objects (key, data) VALUES (?, ?) "
                          "ON CONFLICT (key) DO UPDATE SET data = excluded.data",
                          -1, &put, NULL)
          != SQLITE_OK
      || sqlite3_prepare_v2 (db, "DELETE FROM objects WHERE key = ?", -1, &del, NULL) != SQLITE_OK)
    {
      g_set_error (error, BT_ERROR, BT_ERROR_FAILED, "State store: %s", sqlite3_errmsg (db));
      sqlite3_finalize (put);
      sqlite3_finalize (del);
      return FALSE;
    }
  g_hash_table_iter_init (&iter, objects);
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
                       sqlite3_errmsg (db));
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

  g_mutex_lock (&self->lock);
  if (sqlite3_prepare_v2 (self->db, "SELECT key, data FROM objects ORDER BY key", -1, &stmt, NULL)
      != SQLITE_OK)
    {
      g_mutex_unlock (&self->lock);
      return;
    }
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
  g_mutex_unlock (&self->lock);
}

static gboolean
write_rows (sqlite3 *db, GHashTable *rows, GError **error)
{
  sqlite3_stmt *put = NULL, *del = NULL;
  GHashTableIter iter;
  gpointer key, value;
  gboolean ok = TRUE;

  if (g_hash_table_size (rows) == 0)
    return TRUE;
  /* A record saved again is updated in place: INSERT OR REPLACE would
   * delete the row and insert it anew under another rowid, rewriting the
   * pages of the table and of both indexes for every save */
  if (sqlite3_prepare_v2 (db,
                          "INSERT INTO transfers (id, app_id, seq, data) VALUES (?, ?, ?, ?) "
                          "ON CONFLICT (id) DO UPDATE SET app_id = excluded.app_id, "
                          "seq = excluded.seq, data = excluded.data",
                          -1, &put, NULL)
          != SQLITE_OK
      || sqlite3_prepare_v2 (db, "DELETE FROM transfers WHERE id = ?", -1, &del, NULL) != SQLITE_OK)
    {
      g_set_error (error, BT_ERROR, BT_ERROR_FAILED, "State store: %s", sqlite3_errmsg (db));
      sqlite3_finalize (put);
      sqlite3_finalize (del);
      return FALSE;
    }

  g_hash_table_iter_init (&iter, rows);
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
                       sqlite3_errmsg (db));
          ok = FALSE;
        }
    }
  sqlite3_finalize (put);
  sqlite3_finalize (del);
  return ok;
}

/* One transaction with @rows and @objects; any thread, under the lock.
 * @lazy: not flushed to the disk (nothing in it must survive a power cut) */
static gboolean
commit_rows (sqlite3 *db, GHashTable *rows, GHashTable *objects, gboolean lazy, GError **error)
{
  if (g_hash_table_size (rows) == 0 && g_hash_table_size (objects) == 0)
    return TRUE;
  if (exec_sql (db, lazy ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL", error)
      && exec_sql (db, "BEGIN IMMEDIATE", error) && write_rows (db, rows, error)
      && write_objects (db, objects, error) && exec_sql (db, "COMMIT", error))
    return TRUE;
  exec_sql (db, "ROLLBACK", NULL);
  return FALSE;
}

static void
answer_waiters (GPtrArray *waiters, const GError *error)
{
  for (guint i = 0; i < waiters->len; i++)
    {
      Waiter *waiter = g_ptr_array_index (waiters, i);

      if (waiter->func != NULL)
        waiter->func (error, waiter->user_data);
      else if (error != NULL)
        g_dbus_method_invocation_return_error (g_steal_pointer (&waiter->invocation), BT_ERROR,
                                               BT_ERROR_FAILED, "%s", error->message);
      else
        g_dbus_method_invocation_return_value_with_unix_fd_list (
            g_steal_pointer (&waiter->invocation), waiter->reply, waiter->fd_list);
    }
}

static gboolean
on_retry (gpointer user_data)
{
  BtStore *self = user_data;

  self->flush_source = 0;
  start_commit (self);
  return G_SOURCE_REMOVE;
}

/* The main thread's part of a batch the worker is done with: its waiters
 * are answered; on failure its changes go back to the pending ones (unless
 * newer ones replaced them), to be committed again later. Once only:
 * whichever of the task's callback and bt_store_flush() comes first. */
static void
finish_batch (BtStore *self, Batch *batch)
{
  GHashTableIter iter;
  gpointer key, value;

  if (batch->finished)
    return;
  batch->finished = TRUE;
  if (self->batch == batch)
    self->batch = NULL;
  if (batch->error != NULL)
    {
      g_warning ("%s", batch->error->message);
      g_hash_table_iter_init (&iter, batch->rows);
      while (g_hash_table_iter_next (&iter, &key, &value))
        if (!g_hash_table_contains (self->pending, key))
          {
            g_hash_table_iter_steal (&iter);
            g_hash_table_insert (self->pending, key, value);
          }
      g_hash_table_iter_init (&iter, batch->objects);
      while (g_hash_table_iter_next (&iter, &key, &value))
        if (!g_hash_table_contains (self->pending_objects, key))
          {
            g_hash_table_iter_steal (&iter);
            g_hash_table_insert (self->pending_objects, key, value);
          }
      self->lazy = FALSE;
      /* Try again later; what was committed before is intact */
      g_clear_handle_id (&self->flush_source, g_source_remove);
      self->flush_source = g_timeout_add_seconds (RETRY_FLUSH_S, on_retry, self);
    }
  answer_waiters (batch->waiters, batch->error);
}

static void
commit_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  BtStore *self = source_object;
  Batch *batch = task_data;

  g_mutex_lock (&self->lock);
  commit_rows (self->db, batch->rows, batch->objects, batch->lazy, &batch->error);
  batch->done = TRUE;
  g_cond_broadcast (&self->done_cond);
  g_mutex_unlock (&self->lock);
  g_task_return_boolean (task, TRUE);
}

static void
on_committed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BtStore *self = BT_STORE (source);
  Batch *batch = g_task_get_task_data (G_TASK (result));

  finish_batch (self, batch);
  if (g_hash_table_size (self->pending) > 0 || g_hash_table_size (self->pending_objects) > 0
      || self->waiters->len > 0)
    schedule_flush (self);
}

/* Hands everything pending to the worker as one transaction, unless one
 * is under way: its end starts the next */
static void
start_commit (BtStore *self)
{
  g_autoptr (GTask) task = NULL;
  Batch *batch;

  if (self->batch != NULL)
    return;
  if (g_hash_table_size (self->pending) == 0 && g_hash_table_size (self->pending_objects) == 0
      && self->waiters->len == 0)
    return;
  serialize_rows (self->pending);
  batch = g_new0 (Batch, 1);
  batch->rows = g_steal_pointer (&self->pending);
  batch->objects = g_steal_pointer (&self->pending_objects);
  batch->waiters = g_steal_pointer (&self->waiters);
  batch->lazy = self->lazy;
  self->pending = new_pending_rows ();
  self->pending_objects = new_pending_objects ();
  self->waiters = g_ptr_array_new_with_free_func ((GDestroyNotify) waiter_free);
  self->lazy = FALSE;
  self->batch = batch;

  task = g_task_new (self, NULL, on_committed, NULL);
  g_task_set_source_tag (task, start_commit);
  g_task_set_task_data (task, batch, (GDestroyNotify) batch_free);
  g_task_run_in_thread (task, commit_thread);
}

/*
 * bt_store_flush:
 *
 * Commits every pending change in one transaction now, on this thread,
 * then answers the waiting calls: with their reply on success, with the
 * error otherwise. A transaction under way in the worker is waited for
 * first (its changes are older).
 */
gboolean
bt_store_flush (BtStore *self, GError **error)
{
  g_autoptr (GPtrArray) waiters = NULL;
  g_autoptr (GError) local_error = NULL;
  gboolean ok;

  if (self->batch != NULL)
    {
      Batch *batch = self->batch;

      g_mutex_lock (&self->lock);
      while (!batch->done)
        g_cond_wait (&self->done_cond, &self->lock);
      g_mutex_unlock (&self->lock);
      finish_batch (self, batch);
    }

  waiters = g_steal_pointer (&self->waiters);
  self->waiters = g_ptr_array_new_with_free_func ((GDestroyNotify) waiter_free);
  g_clear_handle_id (&self->flush_source, g_source_remove);

  serialize_rows (self->pending);
  g_mutex_lock (&self->lock);
  ok = commit_rows (self->db, self->pending, self->pending_objects, self->lazy, &local_error);
  g_mutex_unlock (&self->lock);
  if (ok)
    {
      self->lazy = FALSE;
      g_hash_table_remove_all (self->pending);
      g_hash_table_remove_all (self->pending_objects);
    }

  answer_waiters (waiters, local_error);
  if (!ok)
    g_propagate_error (error, g_steal_pointer (&local_error));
  return ok;
}
