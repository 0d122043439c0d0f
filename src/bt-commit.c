/* bt-commit.c: finished data made durable, many files at once
 *
 * A transfer is reported completed only once its data and its record are
 * on disk: the data flushed, renamed into place, the directory flushed and
 * the record committed. One file at a time, a thousand small files would
 * pay a thousand of each, one after the other, with the main loop waiting.
 * Here what falls due together is made durable together (group commit),
 * and what need not wait for each other does not:
 *
 *  1. each file's data is flushed in a worker thread, many at once. The
 *     store's record of the transfer must be on disk before the rename,
 *     since it holds the identity of the partial file, by which a service
 *     killed after the rename knows the file in place for its own
 *     (bt_destination_was_committed()); it is, but for a transfer created
 *     a moment ago. Meanwhile the record of its completion goes to the
 *     store (bt-store.c gathers whatever arrives while it commits), saying
 *     that its data is not yet in place (place-unsynced): a service that
 *     finds such a record after a crash believes it only if the partial
 *     file is in place under its final name (the rename comes after the
 *     flush), and otherwise resumes from what was flushed. Only a partial
 *     file whose identity the store does not know (recreated, or from a
 *     record older than identities) costs an intent to rename, committed
 *     first, and its completion is recorded after the rename;
 *  2. the files whose data is durable are renamed into place together;
 *     then each of their directories is flushed once, in a worker thread.
 *
 * Only once the directory is flushed and the completion recorded does the
 * attempt end and the transfer say "completed": a small file pays the
 * flush of its data, then that of its directory, while its record is
 * committed. Until its rename a transfer can still be stopped (pause,
 * cancel, policy): the commit is abandoned, the data stays the partial
 * file it was, and the record stops saying completed
 * (bt_transfer_set_status()). From the rename on, the data is in place and
 * the transfer can no longer be stopped (bt_transfer_is_in_place()).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <unistd.h>

#include "bt-commit.h"
#include "bt-destination.h"

typedef struct
{
  BtTransfer *transfer;
  guint steps;      /* of step 1 under way: the data's flush, the record */
  guint unfinished; /* of what the report waits for: the directory's
                      flush, the record of the completion */
  gboolean in_place;
  gboolean returned; /* abandoned, or failed */
  GError *error;
} Entry;

typedef struct
{
  GPtrArray *dirs;  /* each directory once */
  GPtrArray *tasks; /* their renamed files' commits */
} DirSync;

/* Step 2 gathers what is ready, one batch at a time */
static GPtrArray *ready; /* GTask: data and record durable, to rename */
static guint rename_source;

static void
entry_free (Entry *entry)
{
  g_clear_object (&entry->transfer);
  g_clear_error (&entry->error);
  g_free (entry);
}

static void
dir_sync_free (DirSync *sync)
{
  g_ptr_array_unref (sync->dirs);
  g_ptr_array_unref (sync->tasks);
  g_free (sync);
}

/* ---- The record of the completion ---------------------------------- */

/* The commit fails, or is abandoned (the task is cancelled) */
static void
return_error (GTask *task, GError *error)
{
  Entry *entry = g_task_get_task_data (task);

  entry->returned = TRUE;
  g_task_return_error (task, error);
}

static gboolean
return_if_cancelled (GTask *task)
{
  Entry *entry = g_task_get_task_data (task);

  if (!g_task_return_error_if_cancelled (task))
    return FALSE;
  entry->returned = TRUE;
  return TRUE;
}

/* One of the things the report waits for is done */
static void
part_done (GTask *task)
{
  Entry *entry = g_task_get_task_data (task);

  entry->unfinished--;
  if (entry->in_place && entry->unfinished == 0)
    g_task_return_boolean (task, TRUE);
}

static void
on_completion_committed (const GError *error, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Entry *entry = g_task_get_task_data (task);

  if (entry->returned)
    return; /* abandoned before its rename: the record says otherwise now */
  if (error != NULL)
    {
      /* The record follows when the store commits again (it retries by
       * itself) */
      g_warning ("Transfer %s: its completion is not recorded yet: %s",
                 bt_transfer_get_id (entry->transfer), error->message);
      bt_store_when_committed (bt_transfer_get_store (entry->transfer), on_completion_committed,
                               g_steal_pointer (&task));
      return;
    }
  part_done (task);
}

/* @in_place: whether the data is on disk under its final name already */
static void
record_completion (GTask *task, gboolean in_place)
{
  Entry *entry = g_task_get_task_data (task);
  BtStore *store = bt_transfer_get_store (entry->transfer);

  entry->unfinished++;
  bt_transfer_record_completion (entry->transfer, in_place);
  if (store == NULL)
    {
      part_done (task);
      return;
    }
  bt_store_when_committed (store, on_completion_committed, g_object_ref (task));
}

/* ---- 2. Renames and directories ----------------------------------------- */

static void
sync_dirs_thread (GTask *task, gpointer source_object, gpointer task_data,
                  GCancellable *cancellable)
{
  DirSync *sync = task_data;

  for (guint i = 0; i < sync->dirs->len; i++)
    {
      g_autoptr (GError) error = NULL;

      /* As before the group commit: the files are in place whatever the
       * directory's flush says; a failure is told, not fatal */
      if (!bt_destination_sync_dir (g_ptr_array_index (sync->dirs, i), &error))
        g_warning ("%s", error->message);
    }
  g_task_return_boolean (task, TRUE);
}

static void
on_dirs_synced (GObject *source, GAsyncResult *result, gpointer user_data)
{
  DirSync *sync = g_task_get_task_data (G_TASK (result));

  for (guint i = 0; i < sync->tasks->len; i++)
    part_done (g_ptr_array_index (sync->tasks, i));
}

/* The directories of what was renamed together are flushed together, once
 * each; a flush under way does not make them wait (the renames came after
 * it began: another flush keeps them) */
static void
start_dir_sync (DirSync *sync)
{
  g_autoptr (GTask) task = g_task_new (NULL, NULL, on_dirs_synced, NULL);

  g_task_set_source_tag (task, start_dir_sync);
  g_task_set_task_data (task, sync, (GDestroyNotify) dir_sync_free);
  g_task_run_in_thread (task, sync_dirs_thread);
}

/* What is ready is renamed at once, then their directories flushed */
static gboolean
on_rename (gpointer user_data)
{
  g_autoptr (GPtrArray) batch = g_steal_pointer (&ready);
  DirSync *renamed = g_new0 (DirSync, 1);

  rename_source = 0;
  renamed->dirs = g_ptr_array_new_with_free_func (g_free);
  renamed->tasks = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; batch != NULL && i < batch->len; i++)
    {
      GTask *commit = g_ptr_array_index (batch, i);
      Entry *entry = g_task_get_task_data (commit);
      BtDestination *destination = bt_transfer_get_destination (entry->transfer);
      const char *dir = bt_destination_get_dir (destination);
      GError *error = NULL;
      gboolean seen = FALSE;

      /* Stopped before its rename: the commit is abandoned */
      if (return_if_cancelled (commit))
        continue;
      if (!bt_destination_rename (destination, &error))
        {
          return_error (commit, error);
          continue;
        }
      bt_transfer_set_in_place (entry->transfer);
      /* Recorded from the start, unless its rename needed an intent */
      if (!bt_transfer_completion_is_recorded (entry->transfer))
        record_completion (commit, FALSE);
      entry->unfinished++;
      entry->in_place = TRUE;
      for (guint j = 0; dir != NULL && j < renamed->dirs->len && !seen; j++)
        seen = g_str_equal (g_ptr_array_index (renamed->dirs, j), dir);
      if (dir != NULL && !seen)
        g_ptr_array_add (renamed->dirs, g_strdup (dir));
      g_ptr_array_add (renamed->tasks, g_object_ref (commit));
    }
  if (renamed->tasks->len > 0)
    start_dir_sync (renamed);
  else
    dir_sync_free (renamed);
  return G_SOURCE_REMOVE;
}

/* All that became ready in this main loop iteration is renamed at once */
static void
schedule_renames (void)
{
  if (rename_source == 0)
    rename_source = g_idle_add_full (G_PRIORITY_DEFAULT, on_rename, NULL, NULL);
}

/* ---- 1. The data and the record --------------------------------------- */

static void
step_done (GTask *task, GError *error)
{
  Entry *entry = g_task_get_task_data (task);

  if (error != NULL && entry->error == NULL)
    entry->error = error;
  else if (error != NULL)
    g_error_free (error);
  if (--entry->steps > 0)
    return;
  if (entry->error != NULL)
    {
      return_error (task, g_steal_pointer (&entry->error));
      return;
    }
  if (return_if_cancelled (task))
    return;
  if (bt_destination_get_path (bt_transfer_get_destination (entry->transfer)) == NULL)
    {
      /* A caller's file: nothing to rename */
      entry->in_place = TRUE;
      record_completion (task, TRUE);
      return;
    }
  if (ready == NULL)
    ready = g_ptr_array_new_with_free_func (g_object_unref);
  g_ptr_array_add (ready, g_object_ref (task));
  schedule_renames ();
}

static void
on_data_flushed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;

  bt_flusher_flush_finish (result, &error);
  step_done (task, error);
}

static void
on_intent_committed (const GError *error, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;

  step_done (task, error != NULL ? g_error_copy (error) : NULL);
}

/*
 * bt_commit_async:
 * @transfer: a transfer whose data (bt_transfer_get_bytes_received() bytes
 *   in its destination) is complete and verified
 * @cancellable: (nullable): stops the commit until the rename
 *
 * Makes the data durable under its final name and records the transfer
 * as completed, together with whatever else completes meanwhile. The
 * transfer's status is left to the caller, once this succeeded.
 */
void
bt_commit_async (BtTransfer *transfer, GCancellable *cancellable, GAsyncReadyCallback callback,
                 gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (transfer, cancellable, callback, user_data);
  BtDestination *destination = bt_transfer_get_destination (transfer);
  BtStore *store = bt_transfer_get_store (transfer);
  Entry *entry = g_new0 (Entry, 1);
  GError *error = NULL;
  int fd;

  g_task_set_source_tag (task, bt_commit_async);
  g_task_set_task_data (task, entry, (GDestroyNotify) entry_free);
  entry->transfer = g_object_ref (transfer);

  fd = bt_destination_open (destination, &error) >= 0 ? bt_destination_dup_fd (destination) : -1;
  if (fd < 0)
    {
      if (error == NULL)
        error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, "Cannot reach the data");
      g_task_return_error (task, error);
      return;
    }
  entry->steps = 1;
  bt_flusher_flush_async (bt_destination_get_flusher (destination), fd,
                          bt_transfer_get_bytes_received (transfer), on_data_flushed,
                          g_object_ref (task));

  if (bt_destination_get_path (destination) == NULL || store == NULL)
    return;
  /* The record (with the partial file's identity) must be on disk before
   * the rename; it is, unless the transfer is a moment old */
  if (!(bt_transfer_is_recorded (transfer) && bt_destination_part_identity_recorded (destination)))
    {
      entry->steps++;
      if (!bt_destination_part_identity_recorded (destination))
        bt_transfer_begin_commit (transfer);
      bt_store_when_committed (store, on_intent_committed, g_object_ref (task));
    }
  /* Its completion, meanwhile, unless its rename needs an intent */
  if (bt_destination_part_identity_recorded (destination))
    record_completion (task, FALSE);
}

gboolean
bt_commit_finish (BtTransfer *transfer, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, transfer), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, bt_commit_async), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
