/* bt-manager.c: the Manager object, the queue and the service's lifetime
 *
 * Transfers run under a global concurrency limit (GSettings
 * max-concurrent-transfers), highest priority first, then in creation
 * order; libsoup enforces the per-host connection limit. The service
 * emits "idle" when nothing is unfinished and no caller is connected for
 * idle-timeout seconds, and the main loop then exits.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <sys/random.h>

#include <libsoup/soup.h>

#include "bt-settings.h"
#include "bt-archive.h"
#include "bt-attempt.h"
#include "bt-bus-object.h"
#include "bt-callers.h"
#include "bt-completion-group.h"
#include "bt-http-session.h"
#include "bt-dbus.h"
#include "bt-documents.h"
#include "bt-error.h"
#include "bt-manager.h"
#include "bt-notify.h"
#include "bt-policy.h"
#include "bt-resume.h"
#include "bt-scheduler.h"
#include "bt-store.h"
#include "bt-transfer.h"

#define BT_MANAGER_INTERFACE "org.freedesktop.BackgroundTransfer.Manager"

struct _BtManager
{
  GObject parent_instance;

  GDBusConnection *connection;
  guint registration_id;
  guint transfers_registration_id; /* the subtree of every transfer object */
  BtCallers *callers;
  GSettings *settings;
  BtStore *store;
  char *responses_dir;
  SoupSession *session;
  BtPolicy *policy;
  BtNetworkState network_state; /* as last announced */
  BtPowerState power_state;

  GHashTable *transfers; /* id → BtTransfer */
  /* Finished transfers: the most recently used as objects (in transfers),
   * the others archived, their records in the store (bt-archive.c) */
  GQueue resident_finished;   /* BtTransfer, least recently used first */
  GHashTable *resident_links; /* BtTransfer → its GList link in resident_finished */
  BtArchive *archive;
  GHashTable *calls_in_flight; /* app id → creations not answered yet */
  /* Indexes kept as transfers change state, so that the scheduler and the
   * quota look at what runs and waits, not at every transfer ever made */
  GSequence *queue;               /* QueueItem of each queued transfer, in queue order */
  GHashTable *queue_items;        /* BtTransfer → its GSequenceIter in queue */
  GHashTable *running;            /* BtTransfer set: an attempt is under way */
  GHashTable *unfinished;         /* BtTransfer set */
  GHashTable *unfinished_per_app; /* app id → how many */
  GHashTable *yielded;            /* BtTransfer set: gave its slot to a small one, once */
  gboolean policy_dirty;          /* every queued transfer's policy verdict to look at again */
  gboolean scheduling;            /* in schedule_now() */
  GHashTable *serialized_groups;  /* "app-id\x1fgroup" of serialized groups */
  GHashTable *completion_groups;  /* id → BtCompletionGroup */
  guint64 next_seq;
  guint schedule_source;

  guint idle_timeout_s;
  guint idle_source;
};

G_DEFINE_TYPE (BtManager, bt_manager, G_TYPE_OBJECT)

enum
{
  SIGNAL_IDLE,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

static void update_idle (BtManager *self);
static void schedule (BtManager *self);
static char *new_transfer_id (void);
static const char *identify (BtManager *self, const char *sender, GVariant *options,
                             GError **error);

/* ---- Scheduling --------------------------------------------------------- */

/* Why the policy holds a transfer back, or BT_STATUS_RUNNING if it may run */
static BtStatus
policy_verdict (BtManager *self, BtTransfer *transfer)
{
  if (bt_policy_is_offline_for (self->policy, bt_transfer_get_current_uri (transfer)))
    return BT_STATUS_PAUSED_NO_NETWORK;
  if (!bt_cost_policy_allows (bt_policy_get_network_state (self->policy),
                              bt_transfer_get_cost_policy (transfer)))
    return BT_STATUS_PAUSED_COSTED_NETWORK;
  if (!bt_power_policy_allows (bt_policy_get_power_state (self->policy),
                               bt_transfer_get_priority (transfer)))
    return BT_STATUS_PAUSED_SYSTEM_POLICY;
  return BT_STATUS_RUNNING;
}

static gboolean
is_policy_pause (BtStatus status)
{
  return status == BT_STATUS_PAUSED_NO_NETWORK || status == BT_STATUS_PAUSED_COSTED_NETWORK
         || status == BT_STATUS_PAUSED_SYSTEM_POLICY;
}

static char *
group_key (const char *app_id, const char *group)
{
  return g_strconcat (app_id, "\x1f", group, NULL);
}

/* A serialized group runs one transfer at a time, in creation order: the
 * oldest of its transfers that want to run, and only when none runs */
static gboolean
serialized_turn (BtManager *self, BtTransfer *transfer)
{
  g_autofree char *key = NULL;
  GHashTableIter iter;
  gpointer value;

  if (bt_transfer_get_group (transfer) == NULL)
    return TRUE;
  key = group_key (bt_transfer_get_app_id (transfer), bt_transfer_get_group (transfer));
  if (!g_hash_table_contains (self->serialized_groups, key))
    return TRUE;

  g_hash_table_iter_init (&iter, self->transfers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      BtTransfer *other = value;

      if (other == transfer
          || g_strcmp0 (bt_transfer_get_group (other), bt_transfer_get_group (transfer)) != 0
          || !g_str_equal (bt_transfer_get_app_id (other), bt_transfer_get_app_id (transfer)))
        continue;
      if (bt_transfer_is_running (other))
        return FALSE;
      if (bt_transfer_wants_to_run (other)
          && bt_transfer_get_seq (other) < bt_transfer_get_seq (transfer))
        return FALSE;
    }
  return TRUE;
}

/* ---- The indexes ---------------------------------------------------------- */

typedef struct
{
  BtTransfer *transfer; /* held by the transfers table */
  BtPriority priority;
  gboolean big;
  guint64 seq;
} QueueItem;

/* The scheduler's order (bt-scheduler.c sorts the same way) */
static gint
compare_queue_items (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const QueueItem *ia = a, *ib = b;

  if (ia->priority != ib->priority)
    return ia->priority > ib->priority ? -1 : 1;
  if (ia->big != ib->big)
    return ia->big ? 1 : -1;
  return ia->seq < ib->seq ? -1 : (ia->seq > ib->seq ? 1 : 0);
}

/* What the scheduler knows of a transfer's size */
static void
describe_size (BtManager *self, BtTransfer *transfer, BtQueueEntry *entry)
{
  guint64 total, done;

  if (bt_transfer_get_kind (transfer) == BT_KIND_UPLOAD)
    {
      total = bt_transfer_get_total_to_send (transfer);
      done = bt_transfer_get_bytes_sent (transfer);
    }
  else
    {
      total = bt_transfer_get_total_bytes (transfer);
      done = bt_transfer_get_bytes_received (transfer);
    }
  entry->remaining = total == BT_SIZE_UNKNOWN ? BT_SIZE_UNKNOWN : total - MIN (done, total);
  entry->rate = bt_transfer_is_running (transfer) ? bt_transfer_get_rate (transfer) : 0;
  /* It can stop now and go on later from where it stopped */
  entry->may_yield = bt_transfer_get_kind (transfer) == BT_KIND_DOWNLOAD
                     && bt_transfer_get_is_resumable (transfer)
                     && (bt_transfer_get_etag (transfer) != NULL
                         || bt_transfer_get_last_modified (transfer) != NULL)
                     && !bt_transfer_is_in_place (transfer)
                     && !g_hash_table_contains (self->yielded, transfer);
}

static gboolean
is_big (BtManager *self, BtTransfer *transfer)
{
  BtQueueEntry entry = { 0 };

  describe_size (self, transfer, &entry);
  return bt_scheduler_is_big (&entry);
}

static void
count_unfinished_in (BtManager *self, BtTransfer *transfer, gint delta)
{
  const char *app_id = bt_transfer_get_app_id (transfer);
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (self->unfinished_per_app, app_id));

  n = (guint) ((gint) n + delta);
  if (n == 0)
    g_hash_table_remove (self->unfinished_per_app, app_id);
  else
    g_hash_table_replace (self->unfinished_per_app, g_strdup (app_id), GUINT_TO_POINTER (n));
}

/* Brings the indexes up to date with @transfer's state; @present: FALSE
 * for a transfer leaving the service */
static void
index_transfer (BtManager *self, BtTransfer *transfer, gboolean present)
{
  GSequenceIter *iter = g_hash_table_lookup (self->queue_items, transfer);
  gboolean queued
      = present && bt_transfer_is_queued (transfer) && !bt_transfer_is_running (transfer);
  gboolean unfinished = present && bt_transfer_is_unfinished (transfer);

  if (iter != NULL && !queued)
    {
      g_sequence_remove (iter);
      g_hash_table_remove (self->queue_items, transfer);
    }
  else if (iter != NULL)
    {
      QueueItem *item = g_sequence_get (iter);
      gboolean big = is_big (self, transfer);

      if (item->priority != bt_transfer_get_priority (transfer) || item->big != big)
        {
          item->priority = bt_transfer_get_priority (transfer);
          item->big = big;
          g_sequence_sort_changed (iter, compare_queue_items, NULL);
        }
    }
  else if (queued)
    {
      QueueItem *item = g_new0 (QueueItem, 1);

      item->transfer = transfer;
      item->priority = bt_transfer_get_priority (transfer);
      item->big = is_big (self, transfer);
      item->seq = bt_transfer_get_seq (transfer);
      g_hash_table_insert (self->queue_items, transfer,
                           g_sequence_insert_sorted (self->queue, item, compare_queue_items, NULL));
    }

  if (present && bt_transfer_is_running (transfer))
    g_hash_table_add (self->running, transfer);
  else
    g_hash_table_remove (self->running, transfer);

  if (!unfinished)
    g_hash_table_remove (self->yielded, transfer);
  if (unfinished && !g_hash_table_contains (self->unfinished, transfer))
    {
      g_hash_table_add (self->unfinished, transfer);
      count_unfinished_in (self, transfer, 1);
    }
  else if (!unfinished && g_hash_table_remove (self->unfinished, transfer))
    count_unfinished_in (self, transfer, -1);
}

/* ---- Scheduling ------------------------------------------------------------ */

/* What the queue walk gathers for the scheduler beyond the free slots:
 * transfers skipped for their host or their group's turn must not starve
 * the ones behind them */
#define QUEUE_LOOKAHEAD 16

/* Applies the policy to what runs and waits, then starts what the
 * scheduler picks (bt-scheduler.c): highest priority first, then oldest
 * first, within the global and per-host limits and the turns of
 * serialized groups. The queue is walked only as far as it takes to fill
 * the free slots (all of it after a change of the policy), so that a pass
 * costs the same with ten or ten thousand transfers waiting. */
/* One pass; returns TRUE if a big transfer yielded its slot to a small
 * one, for another pass to start that one. @started gets the transfers it
 * started. */
static gboolean
schedule_pass (BtManager *self, GPtrArray *started)
{
  g_autoptr (GArray) queue = NULL;
  g_autoptr (GArray) running_entries = NULL;
  g_autoptr (GArray) waiting = NULL;
  BtQueueEntry *yielding;
  gboolean yielded = FALSE;
  g_autoptr (GHashTable) host_load = NULL;
  g_autoptr (GPtrArray) picked = NULL;
  g_autoptr (GPtrArray) running_now = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GPtrArray) held = g_ptr_array_new_with_free_func (g_object_unref);
  guint max_running = bt_settings_get_uint (self->settings, "max-concurrent-transfers");
  guint max_per_host = bt_settings_get_uint (self->settings, "max-connections-per-host");
  gboolean full_walk = self->policy_dirty;
  guint running = 0;
  guint wanted;
  GHashTableIter iter;
  gpointer key;

  self->policy_dirty = FALSE;

  /* What runs stops if the policy no longer lets it */
  g_hash_table_iter_init (&iter, self->running);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (running_now, g_object_ref (key));
  for (guint i = 0; i < running_now->len; i++)
    {
      BtTransfer *transfer = g_ptr_array_index (running_now, i);
      BtStatus verdict = policy_verdict (self, transfer);

      if (verdict == BT_STATUS_RUNNING || bt_transfer_is_in_place (transfer))
        {
          running++;
          continue;
        }
      /* Stopped cleanly, its data checkpointed; resumes by itself */
      bt_transfer_hold (transfer, verdict);
      index_transfer (self, transfer, TRUE);
    }

  /* The head of the queue, or all of it */
  wanted = (max_running > running ? max_running - running : 0) + QUEUE_LOOKAHEAD;
  queue = g_array_sized_new (FALSE, TRUE, sizeof (BtQueueEntry), wanted);
  for (GSequenceIter *it = g_sequence_get_begin_iter (self->queue); !g_sequence_iter_is_end (it);
       it = g_sequence_iter_next (it))
    {
      BtTransfer *transfer = ((QueueItem *) g_sequence_get (it))->transfer;
      BtQueueEntry entry = { 0 };
      BtStatus verdict;

      if (!full_walk && queue->len >= wanted)
        break;
      if (bt_transfer_secrets_pending (transfer) || bt_transfer_documents_pending (transfer))
        continue;
      verdict = policy_verdict (self, transfer);
      if (verdict != BT_STATUS_RUNNING)
        {
          if (bt_transfer_get_status (transfer) != verdict)
            g_ptr_array_add (held, g_object_ref (transfer));
          continue;
        }
      entry.priority = bt_transfer_get_priority (transfer);
      entry.seq = bt_transfer_get_seq (transfer);
      entry.host = bt_transfer_get_host (transfer, &entry.connections);
      entry.its_turn = serialized_turn (self, transfer);
      describe_size (self, transfer, &entry);
      entry.data = g_object_ref (transfer);
      g_array_append_val (queue, entry);
    }

  /* Held by the policy: they wait, saying why */
  for (guint i = 0; i < held->len; i++)
    {
      BtTransfer *transfer = g_ptr_array_index (held, i);

      bt_transfer_hold (transfer, policy_verdict (self, transfer));
      index_transfer (self, transfer, TRUE);
    }

  host_load = bt_attempt_get_host_load ();
  picked = bt_scheduler_pick ((BtQueueEntry *) (void *) queue->data, queue->len, running,
                              max_running, host_load, max_per_host);
  for (guint i = 0; i < picked->len; i++)
    {
      BtTransfer *transfer = ((BtQueueEntry *) g_ptr_array_index (picked, i))->data;

      bt_transfer_run (transfer, self->session);
      index_transfer (self, transfer, TRUE);
      g_ptr_array_add (started, g_object_ref (transfer));
    }

  /* Small ones waiting behind big ones (bt-scheduler.c): one big yields */
  waiting = g_array_sized_new (FALSE, TRUE, sizeof (BtQueueEntry), queue->len);
  running_entries
      = g_array_sized_new (FALSE, TRUE, sizeof (BtQueueEntry), g_hash_table_size (self->running));
  for (guint i = 0; i < queue->len; i++)
    {
      BtQueueEntry *entry = &g_array_index (queue, BtQueueEntry, i);

      if (!bt_transfer_is_running (entry->data))
        g_array_append_val (waiting, *entry);
    }
  g_hash_table_iter_init (&iter, self->running);
  while (waiting->len > 0 && g_hash_table_iter_next (&iter, &key, NULL))
    {
      BtQueueEntry entry = { 0 };

      entry.priority = bt_transfer_get_priority (key);
      entry.seq = bt_transfer_get_seq (key);
      entry.host = bt_transfer_get_host (key, &entry.connections);
      entry.its_turn = TRUE;
      describe_size (self, key, &entry);
      entry.data = key;
      g_array_append_val (running_entries, entry);
    }
  yielding = bt_scheduler_pick_yield ((BtQueueEntry *) (void *) waiting->data, waiting->len,
                                      (BtQueueEntry *) (void *) running_entries->data,
                                      running_entries->len, max_running, host_load, max_per_host);
  if (yielding != NULL)
    {
      BtTransfer *transfer = yielding->data;

      g_debug ("Transfer %s yields its slot to a smaller one", bt_transfer_get_id (transfer));
      g_hash_table_add (self->yielded, transfer);
      bt_transfer_hold (transfer, BT_STATUS_IDLE);
      index_transfer (self, transfer, TRUE);
      yielded = TRUE;
    }

  /* Allowed by the policy, but waiting for a slot or a turn: idle */
  for (guint i = 0; i < queue->len; i++)
    {
      BtTransfer *transfer = g_array_index (queue, BtQueueEntry, i).data;

      if (!bt_transfer_is_running (transfer) && is_policy_pause (bt_transfer_get_status (transfer)))
        bt_transfer_set_status (transfer, BT_STATUS_IDLE);
      g_object_unref (transfer);
    }
  return yielded;
}

static gboolean
schedule_now (gpointer user_data)
{
  BtManager *self = user_data;
  g_autoptr (GPtrArray) started = g_ptr_array_new_with_free_func (g_object_unref);

  self->schedule_source = 0;
  self->scheduling = TRUE;
  /* Again after a yield (each transfer yields once at most) */
  while (schedule_pass (self, started))
    ;
  /* Their engines begin now, not after another round of the main loop;
   * a transfer that ends at once frees its slot for the next pass */
  for (guint i = 0; i < started->len; i++)
    bt_transfer_begin_now (g_ptr_array_index (started, i));
  self->scheduling = FALSE;
  update_idle (self);
  return G_SOURCE_REMOVE;
}

static void
schedule (BtManager *self)
{
  if (self->schedule_source == 0)
    self->schedule_source = g_idle_add_full (G_PRIORITY_DEFAULT, schedule_now, self, NULL);
}

/* A slot is free: the next transfer starts now, in this main loop
 * iteration, not after a round through it (or through the bus). With every
 * slot taken a pass could start nothing now: one after this iteration sees
 * all that arrived in it (a thousand creations at once would each pay a
 * pass for nothing), and lets a big transfer yield to a small one. */
static void
schedule_at_once (BtManager *self)
{
  if (self->scheduling
      || g_hash_table_size (self->running)
             >= bt_settings_get_uint (self->settings, "max-concurrent-transfers"))
    {
      schedule (self);
      return;
    }
  g_clear_handle_id (&self->schedule_source, g_source_remove);
  schedule_now (self);
}

/* ---- Finished transfers: resident or archived ---------------------------- */

/* Finished transfers kept as objects, the most recently finished or used:
 * an app that just waited for one reads its properties next */
#define RESIDENT_FINISHED 64

static gboolean add_transfer (BtManager *self, BtTransfer *transfer, GError **error);

static void
forget_resident (BtManager *self, BtTransfer *transfer)
{
  GList *link = g_hash_table_lookup (self->resident_links, transfer);

  if (link == NULL)
    return;
  g_queue_delete_link (&self->resident_finished, link);
  g_hash_table_remove (self->resident_links, transfer);
}

/* What the archive keeps of @transfer (its texts still the transfer's) */
static BtArchived
describe_for_archive (BtTransfer *transfer)
{
  BtArchived archived = {
    .id = bt_transfer_get_id (transfer),
    .app_id = bt_transfer_get_app_id (transfer),
    .group = bt_transfer_get_group (transfer),
    .seq = bt_transfer_get_seq (transfer),
    .kind = bt_transfer_get_kind (transfer),
    .status = bt_transfer_get_status (transfer),
    .error_status = bt_transfer_get_error_status (transfer),
  };

  return archived;
}

/* Keeps the transfer's record only (bt-archive.c) */
static void
archive_transfer (BtManager *self, BtTransfer *transfer)
{
  BtArchived archived = describe_for_archive (transfer);

  g_debug ("Transfer %s archived", archived.id);
  forget_resident (self, transfer);
  bt_archive_add (self->archive, &archived);
  g_signal_handlers_disconnect_by_data (transfer, self);
  bt_transfer_unexport (transfer);
  index_transfer (self, transfer, FALSE);
  g_hash_table_remove (self->transfers, bt_transfer_get_id (transfer));
}

/* A finished transfer was used (it finished, or someone called it): the
 * least recently used beyond RESIDENT_FINISHED are archived, except
 * those someone else still holds (a call being answered, a record not
 * committed yet, a notification): they go when they are let go */
static void
touch_finished (BtManager *self, BtTransfer *transfer)
{
  GList *link, *next;

  forget_resident (self, transfer);
  if (!bt_status_is_finished (bt_transfer_get_status (transfer)))
    return;
  g_queue_push_tail (&self->resident_finished, transfer);
  g_hash_table_insert (self->resident_links, transfer, self->resident_finished.tail);
  for (link = self->resident_finished.head;
       link != NULL && self->resident_finished.length > RESIDENT_FINISHED; link = next)
    {
      next = link->next;
      if (G_OBJECT (link->data)->ref_count == 1)
        archive_transfer (self, link->data);
    }
}

/* Returns: (transfer none) (nullable): transfer @id, read back from the
 * store if it was archived */
static BtTransfer *
find_transfer (BtManager *self, const char *id)
{
  BtTransfer *transfer = g_hash_table_lookup (self->transfers, id);
  const BtArchived *archived;
  g_autoptr (GVariant) record = NULL;
  g_autoptr (BtTransfer) restored = NULL;
  g_autoptr (GError) error = NULL;

  if (transfer != NULL)
    {
      if (g_hash_table_contains (self->resident_links, transfer))
        touch_finished (self, transfer);
      return transfer;
    }
  archived = bt_archive_lookup (self->archive, id);
  if (archived == NULL)
    return NULL;
  record = bt_store_get (self->store, id);
  if (record != NULL)
    restored = bt_transfer_new_from_record (id, archived->app_id, archived->seq, record);
  if (restored == NULL || !add_transfer (self, restored, &error))
    {
      g_warning ("Cannot read back transfer %s%s%s", id, error != NULL ? ": " : "",
                 error != NULL ? error->message : "");
      bt_archive_remove (self->archive, id);
      return NULL;
    }
  g_debug ("Transfer %s read back from the store", id);
  bt_archive_remove (self->archive, id);
  touch_finished (self, restored);
  return restored;
}

/* Whether transfer @id is finished, for a completion group: an archived
 * one is, and so is one that is gone */
static gboolean
is_finished (BtManager *self, const char *id)
{
  BtTransfer *transfer = g_hash_table_lookup (self->transfers, id);

  return transfer == NULL || bt_status_is_finished (bt_transfer_get_status (transfer));
}

static GVariant *
member_info (BtManager *self, const char *id)
{
  BtTransfer *transfer = find_transfer (self, id);
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "id", g_variant_new_string (id));
  if (transfer == NULL)
    {
      g_variant_builder_add (&b, "{sv}", "status", g_variant_new_string ("canceled"));
      g_variant_builder_add (&b, "{sv}", "error-status", g_variant_new_string (""));
      return g_variant_builder_end (&b);
    }
  g_variant_builder_add (
      &b, "{sv}", "status",
      g_variant_new_string (bt_status_to_string (bt_transfer_get_status (transfer))));
  g_variant_builder_add (
      &b, "{sv}", "error-status",
      g_variant_new_string (bt_error_status_to_string (bt_transfer_get_error_status (transfer))));
  if (bt_transfer_get_kind (transfer) == BT_KIND_DOWNLOAD)
    {
      const char *path = bt_destination_get_path (bt_transfer_get_destination (transfer));
      g_variant_builder_add (&b, "{sv}", "destination", g_variant_new_string (path ? path : ""));
    }
  else
    {
      const char *path = bt_source_get_path (bt_transfer_get_source (transfer));
      g_variant_builder_add (&b, "{sv}", "source", g_variant_new_string (path ? path : ""));
    }
  return g_variant_builder_end (&b);
}

static void
save_completion_group (BtManager *self, BtCompletionGroup *group)
{
  g_autofree char *key = g_strconcat ("completion/", bt_completion_group_get_id (group), NULL);

  bt_store_put_object (self->store, key, bt_completion_group_serialize (group));
}

/* Fires an enabled group once every member has ended */
static void
check_completion_group (BtManager *self, BtCompletionGroup *group)
{
  GVariantBuilder members;

  if (!bt_completion_group_is_enabled (group) || bt_completion_group_has_fired (group))
    return;
  for (guint i = 0; i < bt_completion_group_get_members (group)->len; i++)
    if (!is_finished (self, g_ptr_array_index (bt_completion_group_get_members (group), i)))
      return;

  g_variant_builder_init (&members, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < bt_completion_group_get_members (group)->len; i++)
    g_variant_builder_add_value (
        &members,
        member_info (self, g_ptr_array_index (bt_completion_group_get_members (group), i)));
  g_debug ("Completion group %s fired", bt_completion_group_get_id (group));
  bt_completion_group_fire (group, g_variant_builder_end (&members));
  save_completion_group (self, group);
}

static void
on_transfer_state_changed (BtTransfer *transfer, BtManager *self)
{
  BtStatus status = bt_transfer_get_status (transfer);

  index_transfer (self, transfer, TRUE);
  touch_finished (self, transfer);
  /* A queued transfer the policy now judges otherwise (its priority, cost
   * policy or URI changed): the whole queue is looked at again */
  if (g_hash_table_contains (self->queue_items, transfer)
      && (is_policy_pause (status) || policy_verdict (self, transfer) != BT_STATUS_RUNNING))
    self->policy_dirty = TRUE;
  if (bt_status_is_finished (status))
    {
      bt_notify_transfer_ended (self->connection, transfer);
      if (bt_transfer_get_completion_group (transfer) != NULL)
        {
          BtCompletionGroup *group = g_hash_table_lookup (
              self->completion_groups, bt_transfer_get_completion_group (transfer));

          if (group != NULL)
            check_completion_group (self, group);
        }
      schedule_at_once (self);
      return;
    }
  schedule (self);
}

static void
on_completion_group_enabled (BtCompletionGroup *group, GDBusMethodInvocation *invocation,
                             BtManager *self)
{
  save_completion_group (self, group);
  bt_store_when_durable (self->store, g_object_ref (invocation), NULL, NULL);
  check_completion_group (self, group);
}

static gboolean
add_completion_group (BtManager *self, BtCompletionGroup *group, GError **error)
{
  if (!bt_completion_group_export (group, self->connection, self->callers, error))
    return FALSE;
  g_signal_connect (group, "enabled", G_CALLBACK (on_completion_group_enabled), self);
  g_hash_table_insert (self->completion_groups, g_strdup (bt_completion_group_get_id (group)),
                       g_object_ref (group));
  return TRUE;
}

static void
handle_create_completion_group (BtManager *self, GDBusMethodInvocation *invocation,
                                GVariant *parameters)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) options = NULL;
  g_autoptr (BtCompletionGroup) group = NULL;
  g_autofree char *id = NULL;
  const char *app_id, *action = NULL, *key;
  GVariantIter iter;
  GVariant *value;

  g_variant_get (parameters, "(@a{sv})", &options);
  g_variant_iter_init (&iter, options);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      G_GNUC_UNUSED g_autoptr (GVariant) owned = value;

      if ((!g_str_equal (key, "app-id") && !g_str_equal (key, "action"))
          || !g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        {
          g_dbus_method_invocation_return_error (invocation, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                                                 "Invalid option “%s”: use app-id and action", key);
          return;
        }
    }
  app_id = identify (self, g_dbus_method_invocation_get_sender (invocation), options, &error);
  if (app_id == NULL)
    {
      bt_invocation_return_error (invocation, error);
      return;
    }
  if (!g_variant_lookup (options, "action", "&s", &action) || *action == '\0'
      || strlen (action) > 255 || !g_utf8_validate (action, -1, NULL))
    {
      g_dbus_method_invocation_return_error (invocation, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                                             "A completion group needs an action name");
      return;
    }

  id = new_transfer_id ();
  group = bt_completion_group_new (id, app_id, action);
  if (!add_completion_group (self, group, &error))
    {
      bt_invocation_return_error (invocation, error);
      return;
    }
  save_completion_group (self, group);
  bt_store_when_durable (self->store, invocation,
                         g_variant_new ("(o)", bt_completion_group_get_object_path (group)), NULL);
}

static void
handle_configure_group (BtManager *self, GDBusMethodInvocation *invocation, GVariant *parameters)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) options = NULL;
  g_autofree char *key = NULL;
  g_autofree char *store_key = NULL;
  const char *name, *app_id, *behavior = "parallel", *option;
  GVariantBuilder record;
  GVariantIter iter;
  GVariant *value;

  g_variant_get (parameters, "(&s@a{sv})", &name, &options);
  g_variant_iter_init (&iter, options);
  while (g_variant_iter_next (&iter, "{&sv}", &option, &value))
    {
      G_GNUC_UNUSED g_autoptr (GVariant) owned = value;

      if ((!g_str_equal (option, "app-id") && !g_str_equal (option, "behavior"))
          || !g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        {
          g_dbus_method_invocation_return_error (invocation, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                                                 "Invalid option “%s”: use app-id and behavior",
                                                 option);
          return;
        }
    }
  app_id = identify (self, g_dbus_method_invocation_get_sender (invocation), options, &error);
  if (app_id == NULL)
    {
      bt_invocation_return_error (invocation, error);
      return;
    }
  g_variant_lookup (options, "behavior", "&s", &behavior);
  if (*name == '\0' || strlen (name) > 255 || !g_utf8_validate (name, -1, NULL)
      || (!g_str_equal (behavior, "parallel") && !g_str_equal (behavior, "serialized")))
    {
      g_dbus_method_invocation_return_error (invocation, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                                             "Give a group name and a behavior of parallel or "
                                             "serialized");
      return;
    }

  key = group_key (app_id, name);
  store_key = g_strconcat ("group/", key, NULL);
  if (g_str_equal (behavior, "serialized"))
    {
      g_variant_builder_init (&record, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&record, "{sv}", "behavior", g_variant_new_string (behavior));
      bt_store_put_object (self->store, store_key, g_variant_builder_end (&record));
      g_hash_table_add (self->serialized_groups, g_steal_pointer (&key));
    }
  else
    {
      bt_store_delete_object (self->store, store_key);
      g_hash_table_remove (self->serialized_groups, key);
    }
  bt_store_when_durable (self->store, invocation, NULL, NULL);
  schedule (self);
}

static void
load_object (const char *key, GVariant *data, gpointer user_data)
{
  BtManager *self = user_data;
  g_autoptr (GError) error = NULL;

  if (g_str_has_prefix (key, "group/"))
    g_hash_table_add (self->serialized_groups, g_strdup (key + strlen ("group/")));
  else if (g_str_has_prefix (key, "completion/"))
    {
      g_autoptr (BtCompletionGroup) group
          = bt_completion_group_new_from_record (key + strlen ("completion/"), data);

      if (group == NULL || !add_completion_group (self, group, &error))
        g_warning ("Cannot restore the completion group %s", key);
    }
}

/* ---- Lifetime ----------------------------------------------------------- */

static gboolean
on_idle_timeout (gpointer user_data)
{
  BtManager *self = user_data;

  self->idle_source = 0;
  g_debug ("Idle for %u s: exiting", self->idle_timeout_s);
  g_signal_emit (self, signals[SIGNAL_IDLE], 0);
  return G_SOURCE_REMOVE;
}

static void
update_idle (BtManager *self)
{
  gboolean busy = bt_callers_get_n_callers (self->callers) > 0;
  GHashTableIter iter;
  gpointer value;

  /* Paused and finished transfers are safe in the store; the others keep
   * it busy (a pipe of the app's cannot be found again after a restart) */
  busy = busy || g_hash_table_size (self->running) > 0 || g_sequence_get_length (self->queue) > 0;
  g_hash_table_iter_init (&iter, self->unfinished);
  while (!busy && g_hash_table_iter_next (&iter, &value, NULL))
    busy = bt_transfer_keeps_service_busy (value);

  if (busy || self->idle_timeout_s == 0)
    g_clear_handle_id (&self->idle_source, g_source_remove);
  else if (self->idle_source == 0)
    self->idle_source = g_timeout_add_seconds (self->idle_timeout_s, on_idle_timeout, self);
}

static void
on_callers_changed (BtCallers *callers, BtManager *self)
{
  update_idle (self);
}

/* ---- Network and power state -------------------------------------------- */

static void
emit_manager_property (BtManager *self, const char *name, const char *value)
{
  GVariantBuilder changed;

  /* Not private to an app: every caller may know the network state */
  g_variant_builder_init (&changed, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&changed, "{sv}", name, g_variant_new_string (value));
  g_dbus_connection_emit_signal (self->connection, NULL, BT_MANAGER_PATH,
                                 "org.freedesktop.DBus.Properties", "PropertiesChanged",
                                 g_variant_new ("(sa{sv}as)", BT_MANAGER_INTERFACE, &changed, NULL),
                                 NULL);
}

static void
on_policy_changed (BtPolicy *policy, BtManager *self)
{
  BtNetworkState network = bt_policy_get_network_state (policy);
  BtPowerState power = bt_policy_get_power_state (policy);

  if (network != self->network_state)
    {
      self->network_state = network;
      emit_manager_property (self, "NetworkState", bt_network_state_to_string (network));
    }
  if (power != self->power_state)
    {
      self->power_state = power;
      emit_manager_property (self, "PowerState", bt_power_state_to_string (power));
    }
  self->policy_dirty = TRUE;
  schedule (self);
}

static void
apply_rate_limits (GSettings *settings)
{
  bt_rate_limiter_set_rate (bt_rate_limiter_get_global_download (),
                            bt_settings_get_uint64 (settings, "max-download-rate"));
  bt_rate_limiter_set_rate (bt_rate_limiter_get_global_upload (),
                            bt_settings_get_uint64 (settings, "max-upload-rate"));
}

static void
on_settings_changed (GSettings *settings, const char *key, BtManager *self)
{
  if (g_str_equal (key, "max-download-rate") || g_str_equal (key, "max-upload-rate"))
    apply_rate_limits (settings);
  if (g_str_equal (key, "max-connections-per-host"))
    g_object_set (self->session, "max-conns-per-host", bt_settings_get_uint (settings, key), NULL);
  else if (g_str_equal (key, "response-timeout"))
    g_object_set (self->session, "timeout", bt_settings_get_uint (settings, key), NULL);
  self->policy_dirty = TRUE;
  schedule (self);
}

/* ---- Methods ------------------------------------------------------------ */

static char *
new_transfer_id (void)
{
  guint8 bytes[16];

  /* Unguessable: another app must not be able to probe for ids */
  if (getrandom (bytes, sizeof bytes, 0) != sizeof bytes)
    {
      for (gsize i = 0; i < sizeof bytes; i++)
        bytes[i] = (guint8) g_random_int_range (0, 256);
    }
  return g_compute_checksum_for_data (G_CHECKSUM_MD5, bytes, sizeof bytes);
}

static const char *
identify (BtManager *self, const char *sender, GVariant *options, GError **error)
{
  g_autoptr (GVariant) app_id = g_variant_lookup_value (options, "app-id", NULL);

  if (app_id != NULL && !g_variant_is_of_type (app_id, G_VARIANT_TYPE_STRING))
    {
      g_set_error_literal (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                           "Option “app-id” must be a string");
      return NULL;
    }
  return bt_callers_identify (self->callers, sender,
                              app_id != NULL ? g_variant_get_string (app_id, NULL) : NULL, error);
}

static guint
count_unfinished (BtManager *self, const char *app_id)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (self->unfinished_per_app, app_id));
}

/* TransferAdded / TransferRemoved: only to the owning app's connections
 * (and the portal frontend's, for a transfer created through it) */
static void
emit_to_owner (BtManager *self, BtTransfer *transfer, const char *signal_name)
{
  g_autoptr (GVariant) params
      = g_variant_ref_sink (g_variant_new ("(o)", bt_transfer_get_object_path (transfer)));
  g_autoptr (GPtrArray) peers = bt_callers_get_audience (
      self->callers, bt_transfer_get_app_id (transfer), bt_transfer_get_via_portal (transfer));

  for (guint i = 0; i < peers->len; i++)
    g_dbus_connection_emit_signal (self->connection, g_ptr_array_index (peers, i), BT_MANAGER_PATH,
                                   BT_MANAGER_INTERFACE, signal_name, params, NULL);
}

static void
on_transfer_removed (BtTransfer *transfer, BtManager *self)
{
  g_debug ("Transfer %s removed", bt_transfer_get_id (transfer));
  g_signal_handlers_disconnect_by_data (transfer, self);
  bt_transfer_unexport (transfer);
  bt_store_delete (self->store, bt_transfer_get_id (transfer));
  if (bt_transfer_get_response_in_state (transfer))
    bt_destination_remove_file (bt_transfer_get_destination (transfer));
  if (bt_transfer_has_secrets (transfer))
    bt_secrets_clear (bt_transfer_get_id (transfer));
  emit_to_owner (self, transfer, "TransferRemoved");
  forget_resident (self, transfer);
  index_transfer (self, transfer, FALSE);
  g_hash_table_remove (self->transfers, bt_transfer_get_id (transfer));
  update_idle (self);
}

static BtCompletionGroup *
find_open_completion_group (BtManager *self, const char *app_id, const char *path, GError **error)
{
  BtCompletionGroup *group = NULL;

  if (g_str_has_prefix (path, BT_COMPLETION_GROUP_PATH_PREFIX))
    group = g_hash_table_lookup (self->completion_groups,
                                 path + strlen (BT_COMPLETION_GROUP_PATH_PREFIX));
  if (group == NULL)
    {
      g_set_error (error, BT_ERROR, BT_ERROR_NOT_FOUND, "No completion group %s", path);
      return NULL;
    }
  if (!g_str_equal (bt_completion_group_get_app_id (group), app_id))
    {
      g_set_error_literal (error, BT_ERROR, BT_ERROR_ACCESS_DENIED,
                           "This completion group belongs to another application");
      return NULL;
    }
  if (bt_completion_group_is_enabled (group))
    {
      g_set_error_literal (error, BT_ERROR, BT_ERROR_INVALID_STATE,
                           "The completion group is enabled: it takes no more members");
      return NULL;
    }
  return group;
}

static gboolean
add_transfer (BtManager *self, BtTransfer *transfer, GError **error)
{
  bt_transfer_set_services (transfer, self->settings, self->store, self->policy);
  if (!bt_transfer_export (transfer, self->connection, self->callers, error))
    return FALSE;
  g_signal_connect (transfer, "state-changed", G_CALLBACK (on_transfer_state_changed), self);
  g_signal_connect (transfer, "removed", G_CALLBACK (on_transfer_removed), self);
  g_hash_table_insert (self->transfers, g_strdup (bt_transfer_get_id (transfer)),
                       g_object_ref (transfer));
  index_transfer (self, transfer, TRUE);
  return TRUE;
}

static void
on_secrets_looked_up (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (BtTransfer) transfer = user_data;
  g_autoptr (GError) error = NULL;
  BtSecrets *secrets = bt_secrets_lookup_finish (result, &error);

  if (secrets == NULL)
    g_warning ("The credentials of transfer %s are not available%s%s; it goes on without them",
               bt_transfer_get_id (transfer), error != NULL ? ": " : "",
               error != NULL ? error->message : "");
  bt_transfer_take_secrets (transfer, secrets);
}

/* A restored transfer's files of the document portal, checked before it
 * may run: each document must still exist, name the same host file, and
 * (for a sandboxed app) still be the app's to write or read */
typedef struct
{
  BtTransfer *transfer;
  guint pending;
  BtErrorStatus error_status;
  char *message; /* the first reason to stop, or NULL */
} DocumentCheck;

typedef struct
{
  DocumentCheck *check;
  BtFdIdentity *identity;
  gboolean written; /* the transfer writes it (the download's data, an upload's reply) */
} DocumentCheckItem;

static void
on_document_checked (GObject *source, GAsyncResult *result, gpointer user_data)
{
  DocumentCheckItem *item = user_data;
  DocumentCheck *check = item->check;
  BtFdIdentity *identity = item->identity;
  const char *document = bt_fd_identity_get_document (identity);
  const char *app_id = bt_transfer_get_app_id (check->transfer);
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) apps = NULL;
  g_autofree char *host = bt_document_info_finish (result, &apps, &error);
  g_autofree char *file = NULL;
  g_autofree char *problem = NULL;

  if (host == NULL && bt_document_portal_unreachable (error))
    g_message ("Transfer %s: the document portal does not answer (%s); document %s is "
               "opened by its host file alone",
               bt_transfer_get_id (check->transfer), error->message, document);
  else if (host == NULL)
    problem = g_strdup_printf ("The document %s is no longer in the document portal (%s)", document,
                               error->message);
  else if (file = bt_document_host_file (host, bt_fd_identity_get_document_path (identity)),
           g_strcmp0 (file, bt_fd_identity_get_path (identity)) != 0)
    problem = g_strdup_printf ("The document %s now stands for another file (%s)", document, host);
  else if (bt_transfer_get_sandboxed (check->transfer)
           && !bt_document_app_may (apps, app_id, item->written ? "write" : "read"))
    problem = g_strdup_printf ("The application %s may no longer %s the document %s", app_id,
                               item->written ? "write" : "read", document);

  if (problem != NULL && check->message == NULL)
    {
      check->message = g_steal_pointer (&problem);
      check->error_status = item->written ? BT_ERROR_STATUS_DESTINATION_UNWRITABLE
                                          : BT_ERROR_STATUS_RESOURCE_CHANGED;
    }
  g_free (item);
  if (--check->pending > 0)
    return;
  bt_transfer_documents_checked (check->transfer, check->error_status, check->message);
  g_object_unref (check->transfer);
  g_free (check->message);
  g_free (check);
}

static void
check_documents (BtManager *self, BtTransfer *transfer)
{
  g_autoptr (GPtrArray) identities = bt_transfer_get_fd_identities (transfer);
  BtDestination *destination = bt_transfer_get_destination (transfer);
  DocumentCheck *check;

  if (bt_status_is_finished (bt_transfer_get_status (transfer)))
    return;
  check = g_new0 (DocumentCheck, 1);
  check->transfer = g_object_ref (transfer);
  for (guint i = 0; i < identities->len; i++)
    {
      BtFdIdentity *identity = g_ptr_array_index (identities, i);
      DocumentCheckItem *item;

      /* A document whose host file was never learnt is its portal's path */
      if (bt_fd_identity_get_document (identity) == NULL || bt_fd_identity_needs_host (identity))
        continue;
      item = g_new0 (DocumentCheckItem, 1);
      item->check = check;
      item->identity = identity;
      item->written
          = destination != NULL && bt_destination_get_fd_identity (destination) == identity;
      check->pending++;
      bt_document_info_async (self->connection, bt_fd_identity_get_document (identity), NULL,
                              on_document_checked, item);
    }
  if (check->pending == 0)
    {
      g_object_unref (check->transfer);
      g_free (check);
      return;
    }
  bt_transfer_set_documents_pending (transfer);
}

static void
load_record (const char *id, const char *app_id, guint64 seq, GVariant *data, gpointer user_data)
{
  BtManager *self = user_data;
  g_autoptr (BtTransfer) transfer = NULL;
  g_autoptr (GError) error = NULL;
  gint64 retention_us
      = (gint64) bt_settings_get_uint (self->settings, "retention-days") * G_TIME_SPAN_DAY;
  gint64 completed_time;

  self->next_seq = MAX (self->next_seq, seq + 1);
  /* A finished one stays in the store, listed but not built (bt-archive.c) */
  if (bt_archive_add_record (self->archive, id, app_id, seq, data, &completed_time))
    {
      if (completed_time > 0 && g_get_real_time () - completed_time > retention_us)
        {
          g_debug ("Transfer %s ended more than the retention period ago: forgotten", id);
          bt_archive_remove (self->archive, id);
          bt_store_delete (self->store, id);
        }
      return;
    }
  transfer = bt_transfer_new_from_record (id, app_id, seq, data);
  if (transfer == NULL)
    {
      bt_store_delete (self->store, id);
      return;
    }
  if (bt_status_is_finished (bt_transfer_get_status (transfer))
      && bt_transfer_get_completed_time (transfer) > 0
      && g_get_real_time () - bt_transfer_get_completed_time (transfer) > retention_us)
    {
      g_debug ("Transfer %s ended more than the retention period ago: forgotten", id);
      bt_store_delete (self->store, id);
      return;
    }
  if (!add_transfer (self, transfer, &error))
    {
      g_warning ("Cannot restore transfer %s: %s", id, error->message);
      return;
    }
  /* Records the re-validated checkpoint and the new status */
  if (bt_transfer_needs_saving (transfer))
    bt_transfer_save (transfer);
  if (bt_transfer_secrets_pending (transfer))
    bt_secrets_lookup_async (bt_transfer_get_id (transfer), NULL, on_secrets_looked_up,
                             g_object_ref (transfer));
  check_documents (self, transfer);
}

/* Creations wait for the store before they are answered: an app that
 * floods the service with them would hold its memory, and everyone's
 * answers behind its own. Above this many unanswered, it is told to wait. */
#define MAX_CALLS_IN_FLIGHT_PER_APP 256

typedef struct
{
  GHashTable *table; /* BtManager.calls_in_flight */
  char *app_id;
} CallInFlight;

static void
call_in_flight_free (CallInFlight *call)
{
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (call->table, call->app_id));

  if (n > 1)
    g_hash_table_insert (call->table, g_strdup (call->app_id), GUINT_TO_POINTER (n - 1));
  else
    g_hash_table_remove (call->table, call->app_id);
  g_hash_table_unref (call->table);
  g_free (call->app_id);
  g_free (call);
}

/* Counted until the invocation is answered and gone */
static void
track_call_in_flight (BtManager *self, const char *app_id, GDBusMethodInvocation *invocation)
{
  CallInFlight *call = g_new0 (CallInFlight, 1);
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (self->calls_in_flight, app_id));

  g_hash_table_insert (self->calls_in_flight, g_strdup (app_id), GUINT_TO_POINTER (n + 1));
  call->table = g_hash_table_ref (self->calls_in_flight);
  call->app_id = g_strdup (app_id);
  g_object_set_data_full (G_OBJECT (invocation), "bt-call-in-flight", call,
                          (GDestroyNotify) call_in_flight_free);
}

/* Its record is on disk: its completion need not wait for it (bt-commit.c) */
static void
on_transfer_recorded (const GError *error, gpointer user_data)
{
  g_autoptr (BtTransfer) transfer = user_data;

  if (error == NULL)
    bt_transfer_set_recorded (transfer);
}

/* A transfer being created, until the call is answered */
typedef struct
{
  BtManager *self;
  GDBusMethodInvocation *invocation;
  BtTransfer *transfer;
  BtCompletionGroup *group; /* to join, or NULL */
  BtReplyFunc make_reply;
  guint documents_pending;
} Creation;

static void
creation_free (Creation *creation)
{
  g_object_unref (creation->self);
  g_object_unref (creation->transfer);
  g_clear_object (&creation->group);
  g_free (creation);
}

/* The transfer is complete: it goes on the bus and in the store */
static void
finish_creation (Creation *creation)
{
  g_autoptr (GError) error = NULL;
  BtManager *self = creation->self;
  BtTransfer *transfer = creation->transfer;
  GDBusMethodInvocation *invocation = creation->invocation;
  const char *id = bt_transfer_get_id (transfer);

  /* Enabled while the document portal was asked: it takes no more members */
  if (creation->group != NULL && bt_completion_group_is_enabled (creation->group))
    g_set_error_literal (&error, BT_ERROR, BT_ERROR_INVALID_STATE,
                         "The completion group is enabled: it takes no more members");
  if (error != NULL || !add_transfer (self, transfer, &error))
    {
      bt_destination_discard (bt_transfer_get_destination (transfer));
      bt_invocation_return_error (invocation, error);
      creation_free (creation);
      return;
    }
  g_debug ("Transfer %s created for app “%s”%s", id, bt_transfer_get_app_id (transfer),
           bt_transfer_get_via_portal (transfer) ? " through the portal" : "");
  if (creation->group != NULL)
    {
      bt_transfer_set_completion_group (transfer, bt_completion_group_get_id (creation->group));
      bt_completion_group_add_member (creation->group, id);
      save_completion_group (self, creation->group);
    }

  if (bt_transfer_has_secrets (transfer))
    bt_secrets_store (id, bt_transfer_get_secrets (transfer));
  /* Answered once the transfer is in the store */
  bt_transfer_save (transfer);
  bt_store_when_durable (self->store, invocation, creation->make_reply (transfer), NULL);
  bt_store_when_committed (self->store, on_transfer_recorded, g_object_ref (transfer));
  emit_to_owner (self, transfer, "TransferAdded");
  /* With start=true (the default) it starts now if a slot is free */
  if (bt_transfer_is_queued (transfer))
    schedule_at_once (self);
  creation_free (creation);
}

typedef struct
{
  Creation *creation;
  BtFdIdentity *identity;
} DocumentLookup;

static void
on_document_info (GObject *source, GAsyncResult *result, gpointer user_data)
{
  DocumentLookup *lookup = user_data;
  Creation *creation = lookup->creation;
  g_autoptr (GError) error = NULL;
  g_autofree char *host = bt_document_info_finish (result, NULL, &error);
  g_autofree char *file = NULL;

  if (host != NULL
      && (file = bt_document_host_file (host, bt_fd_identity_get_document_path (lookup->identity)))
             == NULL)
    g_set_error (&error, BT_ERROR, BT_ERROR_FAILED, "the document is “%s”, not the file given",
                 host);
  if (file == NULL || !bt_fd_identity_set_host (lookup->identity, file, &error))
    g_message ("Document %s of transfer %s: %s; a restart of the service will not find its "
               "file again",
               bt_fd_identity_get_document (lookup->identity),
               bt_transfer_get_id (creation->transfer), error->message);
  g_free (lookup);
  if (--creation->documents_pending == 0)
    finish_creation (creation);
}

/* A descriptor on the document portal whose host file its extended
 * attribute did not tell (bt-fd-identity.c): the document portal does */
static void
resolve_documents (Creation *creation)
{
  g_autoptr (GPtrArray) identities = bt_transfer_get_fd_identities (creation->transfer);

  for (guint i = 0; i < identities->len; i++)
    {
      if (bt_fd_identity_needs_host (g_ptr_array_index (identities, i)))
        creation->documents_pending++;
    }
  if (creation->documents_pending == 0)
    {
      finish_creation (creation);
      return;
    }
  for (guint i = 0; i < identities->len; i++)
    {
      BtFdIdentity *identity = g_ptr_array_index (identities, i);
      DocumentLookup *lookup;

      if (!bt_fd_identity_needs_host (identity))
        continue;
      lookup = g_new0 (DocumentLookup, 1);
      lookup->creation = creation;
      lookup->identity = identity;
      bt_document_info_async (creation->self->connection, bt_fd_identity_get_document (identity),
                              NULL, on_document_info, lookup);
    }
}

static void
on_destination_created (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Creation *creation = user_data;
  g_autoptr (GError) error = NULL;

  if (!bt_destination_create_finish (result, &error))
    {
      bt_invocation_return_error (creation->invocation, error);
      creation_free (creation);
      return;
    }
  resolve_documents (creation);
}

/*
 * bt_manager_create_transfer:
 * @invocation: (transfer full): the call, answered here; its fds are the
 *   ones the options name
 * @creator: whom the transfer is for, and under which rules
 * @make_reply: the call's answer, from the new transfer
 *
 * Creates a download or an upload for an app, with every rule of creation
 * (quotas, options, completion groups, the sandbox's), for the Manager and
 * for the portal backend alike. The call is answered once the transfer is
 * in the store.
 */
void
bt_manager_create_transfer (BtManager *self, GDBusMethodInvocation *invocation, BtKind kind,
                            const BtCreator *creator, const char *uri, GVariant *options,
                            BtReplyFunc make_reply)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BtTransfer) transfer = NULL;
  g_autofree char *id = NULL;
  const char *app_id = creator->app_id;
  const char *group_path = NULL;
  BtCompletionGroup *group = NULL;
  GDBusMessage *message = g_dbus_method_invocation_get_message (invocation);
  Creation *creation;

  if (GPOINTER_TO_UINT (g_hash_table_lookup (self->calls_in_flight, app_id))
      >= MAX_CALLS_IN_FLIGHT_PER_APP)
    {
      g_dbus_method_invocation_return_error (
          invocation, BT_ERROR, BT_ERROR_QUOTA_EXCEEDED,
          "Too many calls of this application in flight (at most %u): wait for their answers",
          MAX_CALLS_IN_FLIGHT_PER_APP);
      return;
    }
  track_call_in_flight (self, app_id, invocation);

  if (count_unfinished (self, app_id)
      >= bt_settings_get_uint (self->settings, "max-transfers-per-app"))
    {
      g_dbus_method_invocation_return_error (
          invocation, BT_ERROR, BT_ERROR_QUOTA_EXCEEDED,
          "Too many unfinished transfers (at most %u)",
          bt_settings_get_uint (self->settings, "max-transfers-per-app"));
      return;
    }

  if (g_variant_lookup (options, "completion-group", "&o", &group_path))
    {
      group = find_open_completion_group (self, app_id, group_path, &error);
      if (group == NULL)
        {
          bt_invocation_return_error (invocation, error);
          return;
        }
    }

  id = new_transfer_id ();
  if (kind == BT_KIND_DOWNLOAD)
    transfer = bt_transfer_new_download (id, app_id, self->next_seq, uri, options,
                                         g_dbus_message_get_unix_fd_list (message),
                                         creator->sandboxed, &error);
  else
    transfer = bt_transfer_new_upload (id, app_id, self->next_seq, uri, options,
                                       g_dbus_message_get_unix_fd_list (message),
                                       creator->sandboxed, self->responses_dir, &error);
  if (transfer == NULL)
    {
      bt_invocation_return_error (invocation, error);
      return;
    }
  self->next_seq++;
  bt_transfer_set_via_portal (transfer, creator->via_portal);

  creation = g_new0 (Creation, 1);
  creation->self = g_object_ref (self);
  creation->invocation = invocation;
  creation->transfer = g_steal_pointer (&transfer);
  creation->group = group != NULL ? g_object_ref (group) : NULL;
  creation->make_reply = make_reply;
  /* Its partial file, in a worker thread, then its documents */
  bt_destination_create_async (bt_transfer_get_destination (creation->transfer),
                               on_destination_created, creation);
}

static GVariant *
reply_object_path (BtTransfer *transfer)
{
  return g_variant_new ("(o)", bt_transfer_get_object_path (transfer));
}

static void
handle_create (BtManager *self, GDBusMethodInvocation *invocation, GVariant *parameters,
               BtKind kind)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) options = NULL;
  const char *sender = g_dbus_method_invocation_get_sender (invocation);
  const char *uri;
  BtCreator creator = { 0 };

  g_variant_get (parameters, "(&s@a{sv})", &uri, &options);
  creator.app_id = identify (self, sender, options, &error);
  if (creator.app_id == NULL)
    {
      bt_invocation_return_error (invocation, error);
      return;
    }
  creator.sandboxed = bt_callers_is_sandboxed (self->callers, sender);
  bt_manager_create_transfer (self, invocation, kind, &creator, uri, options, reply_object_path);
}

/* A transfer GetTransfers lists, resident or archived */
typedef struct
{
  guint64 seq;
  const char *id;
} Match;

static gint
compare_seq (gconstpointer a, gconstpointer b)
{
  const Match *ma = a, *mb = b;

  return ma->seq < mb->seq ? -1 : (ma->seq > mb->seq ? 1 : 0);
}

static gboolean
strv_contains_checked (GVariant *statuses, const char *status)
{
  GVariantIter iter;
  const char *s;

  g_variant_iter_init (&iter, statuses);
  while (g_variant_iter_next (&iter, "&s", &s))
    {
      if (g_str_equal (s, status))
        return TRUE;
    }
  return FALSE;
}

static gboolean
check_filter (GVariant *filter, GError **error)
{
  GVariantIter iter;
  const char *key;
  GVariant *value;

  g_variant_iter_init (&iter, filter);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      G_GNUC_UNUSED g_autoptr (GVariant) owned = value;
      const char *type = g_str_equal (key, "status") ? "as"
                         : (g_str_equal (key, "group") || g_str_equal (key, "kind")
                            || g_str_equal (key, "app-id"))
                             ? "s"
                             : NULL;

      if (type == NULL)
        {
          g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT, "Unknown filter “%s”", key);
          return FALSE;
        }
      if (!g_variant_is_of_type (value, G_VARIANT_TYPE (type)))
        {
          g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                       "Filter “%s” must be of type “%s”", key, type);
          return FALSE;
        }
    }
  return TRUE;
}

typedef struct
{
  const char *app_id;
  const char *group;  /* nullable */
  const char *kind;   /* nullable */
  GVariant *statuses; /* nullable */
  GArray *matches;
} Filter;

static void
add_match (const BtArchived *entry, Filter *filter)
{
  Match match = { entry->seq, entry->id };

  if (!g_str_equal (entry->app_id, filter->app_id))
    return;
  if (filter->group != NULL
      && g_strcmp0 (entry->group != NULL ? entry->group : "", filter->group) != 0)
    return;
  if (filter->kind != NULL && !g_str_equal (filter->kind, bt_kind_to_string (entry->kind)))
    return;
  if (filter->statuses != NULL
      && !strv_contains_checked (filter->statuses, bt_status_to_string (entry->status)))
    return;
  g_array_append_val (filter->matches, match);
}

/*
 * bt_manager_list_transfers:
 * @filter: the filter of GetTransfers ("group", "status", "kind"; an
 *   "app-id" in it is the caller's identity, not a filter)
 *
 * Lists the app's transfers, resident or archived (bt-archive.c), without
 * reading any archived one back: what the filter looks at is in memory.
 *
 * Returns: (transfer container) (element-type utf8): the object paths of
 * the app's transfers that pass @filter, oldest first; or %NULL with
 * @error set
 */
GPtrArray *
bt_manager_list_transfers (BtManager *self, const char *app_id, GVariant *filter, GError **error)
{
  g_autoptr (GVariant) statuses = NULL;
  g_autoptr (GArray) matches = g_array_new (FALSE, FALSE, sizeof (Match));
  g_autoptr (GPtrArray) paths = NULL;
  Filter filter_data = { 0 };
  const char *group = NULL, *kind = NULL;
  GHashTableIter transfers;
  gpointer transfer_ptr;

  if (!check_filter (filter, error))
    return NULL;
  g_variant_lookup (filter, "group", "&s", &group);
  g_variant_lookup (filter, "kind", "&s", &kind);
  statuses = g_variant_lookup_value (filter, "status", G_VARIANT_TYPE_STRING_ARRAY);
  filter_data.app_id = app_id;
  filter_data.group = group;
  filter_data.kind = kind;
  filter_data.statuses = statuses;
  filter_data.matches = matches;

  g_hash_table_iter_init (&transfers, self->transfers);
  while (g_hash_table_iter_next (&transfers, NULL, &transfer_ptr))
    {
      BtArchived entry = describe_for_archive (transfer_ptr);

      add_match (&entry, &filter_data);
    }
  bt_archive_foreach (self->archive, (GFunc) add_match, &filter_data);
  g_array_sort (matches, compare_seq);

  paths = g_ptr_array_new_full (matches->len, g_free);
  for (guint i = 0; i < matches->len; i++)
    g_ptr_array_add (
        paths, g_strconcat (BT_TRANSFER_PATH_PREFIX, g_array_index (matches, Match, i).id, NULL));
  return g_steal_pointer (&paths);
}

/*
 * bt_manager_lookup_transfer:
 *
 * Finds the transfer at @object_path, reading it back from the store if
 * it was archived (as a call on it over the bus does).
 *
 * Returns: (transfer full): the transfer at @object_path if it belongs to
 * @app_id; else %NULL and AccessDenied, the same for another app's
 * transfer as for none at all (FAULTS X1). Holding it keeps it from being
 * archived.
 */
BtTransfer *
bt_manager_lookup_transfer (BtManager *self, const char *app_id, const char *object_path,
                            GError **error)
{
  const char *id = g_str_has_prefix (object_path, BT_TRANSFER_PATH_PREFIX)
                       ? object_path + strlen (BT_TRANSFER_PATH_PREFIX)
                       : NULL;
  BtTransfer *transfer = id != NULL ? g_hash_table_lookup (self->transfers, id) : NULL;
  const BtArchived *archived
      = id != NULL && transfer == NULL ? bt_archive_lookup (self->archive, id) : NULL;
  const char *owner = transfer != NULL   ? bt_transfer_get_app_id (transfer)
                      : archived != NULL ? archived->app_id
                                         : NULL;

  /* Another app's transfer is refused as it is: not read back, not used */
  transfer = g_strcmp0 (owner, app_id) == 0 ? find_transfer (self, id) : NULL;
  if (transfer == NULL || !bt_transfer_is_exported (transfer))
    {
      g_set_error (error, BT_ERROR, BT_ERROR_ACCESS_DENIED,
                   "%s is not a transfer of the application “%s”", object_path, app_id);
      return NULL;
    }
  return g_object_ref (transfer);
}

/*
 * bt_manager_get_transfer_properties:
 *
 * The properties of a listed transfer (bt_manager_list_transfers()), as
 * the bus reads them. An archived transfer is read from its record into an
 * object that is dropped at once: it stays archived, and listing many
 * keeps one of them in memory at a time.
 *
 * Returns: (transfer full) (nullable): the a{sv} of the transfer at
 * @object_path, or %NULL if there is none any more
 */
GVariant *
bt_manager_get_transfer_properties (BtManager *self, const char *object_path)
{
  const char *id = g_str_has_prefix (object_path, BT_TRANSFER_PATH_PREFIX)
                       ? object_path + strlen (BT_TRANSFER_PATH_PREFIX)
                       : NULL;
  BtTransfer *transfer = id != NULL ? g_hash_table_lookup (self->transfers, id) : NULL;
  const BtArchived *archived;
  g_autoptr (GVariant) record = NULL;
  g_autoptr (BtTransfer) restored = NULL;

  if (transfer != NULL)
    return g_variant_ref_sink (bt_transfer_get_properties (transfer));
  archived = id != NULL ? bt_archive_lookup (self->archive, id) : NULL;
  if (archived == NULL)
    return NULL;
  record = bt_store_get (self->store, id);
  if (record != NULL)
    restored = bt_transfer_new_from_record (id, archived->app_id, archived->seq, record);
  if (restored == NULL)
    {
      g_warning ("Cannot read back transfer %s", id);
      return NULL;
    }
  /* No store: nothing of this copy is ever saved */
  bt_transfer_set_services (restored, self->settings, NULL, self->policy);
  return g_variant_ref_sink (bt_transfer_get_properties (restored));
}

static void
handle_get_transfers (BtManager *self, GDBusMethodInvocation *invocation, GVariant *parameters)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) filter = NULL;
  g_autoptr (GPtrArray) paths = NULL;
  GVariantBuilder builder;
  const char *app_id;

  g_variant_get (parameters, "(@a{sv})", &filter);
  /* The filter is checked before the caller binds an app id with it */
  if (check_filter (filter, &error)
      && (app_id
          = identify (self, g_dbus_method_invocation_get_sender (invocation), filter, &error))
             != NULL)
    paths = bt_manager_list_transfers (self, app_id, filter, &error);
  if (paths == NULL)
    {
      bt_invocation_return_error (invocation, error);
      return;
    }

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("ao"));
  for (guint i = 0; i < paths->len; i++)
    g_variant_builder_add (&builder, "o", g_ptr_array_index (paths, i));
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(ao)", &builder));
}

/* Any app may call the Manager: it acts for the caller's own app */
static void
dispatch (gpointer object, GDBusMethodInvocation *invocation)
{
  BtManager *self = object;
  const char *method_name = g_dbus_method_invocation_get_method_name (invocation);
  GVariant *parameters = g_dbus_method_invocation_get_parameters (invocation);

  if (g_str_equal (method_name, "CreateDownload"))
    handle_create (self, invocation, parameters, BT_KIND_DOWNLOAD);
  else if (g_str_equal (method_name, "CreateUpload"))
    handle_create (self, invocation, parameters, BT_KIND_UPLOAD);
  else if (g_str_equal (method_name, "ConfigureGroup"))
    handle_configure_group (self, invocation, parameters);
  else if (g_str_equal (method_name, "CreateCompletionGroup"))
    handle_create_completion_group (self, invocation, parameters);
  else if (g_str_equal (method_name, "GetTransfers"))
    handle_get_transfers (self, invocation, parameters);
  else
    {
      g_autoptr (GError) unsupported
          = g_error_new (BT_ERROR, BT_ERROR_NOT_SUPPORTED,
                         "%s is not supported by this version of the service", method_name);

      bt_invocation_return_error (invocation, unsupported);
    }
}

static GVariant *
get_property (gpointer object, const char *name)
{
  BtManager *self = object;

  if (g_str_equal (name, "Version"))
    return g_variant_new_uint32 (1);
  if (g_str_equal (name, "NetworkState"))
    return g_variant_new_string (bt_network_state_to_string (self->network_state));
  if (g_str_equal (name, "PowerState"))
    return g_variant_new_string (bt_power_state_to_string (self->power_state));
  return NULL;
}

static const BtBusObjectVTable bus_object_vtable = {
  .info = &org_freedesktop_background_transfer_manager_interface,
  .get_property = get_property,
  .method_call = dispatch,
};

/* Every call waits for the caller to be identified (once per connection) */
static void
manager_method_call (GDBusConnection *connection, const char *sender, const char *object_path,
                     const char *interface_name, const char *method_name, GVariant *parameters,
                     GDBusMethodInvocation *invocation, gpointer user_data)
{
  BtManager *self = user_data;

  bt_bus_object_dispatch (&bus_object_vtable, self, self->callers, invocation);
}

static const GDBusInterfaceVTable manager_vtable = {
  manager_method_call,
  NULL,
  NULL,
  { 0 },
};

/* ---- Object ------------------------------------------------------------- */

void
bt_manager_shutdown (BtManager *self)
{
  GHashTableIter iter;
  gpointer value;

  /* Stop moving bytes; partial files stay on disk */
  g_hash_table_iter_init (&iter, self->transfers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      BtTransfer *transfer = value;

      g_signal_handlers_disconnect_by_data (transfer, self);
      if (bt_transfer_is_running (transfer))
        bt_transfer_hold (transfer, bt_transfer_get_status (transfer));
      bt_transfer_unexport (transfer);
    }
  g_sequence_remove_range (g_sequence_get_begin_iter (self->queue),
                           g_sequence_get_end_iter (self->queue));
  g_hash_table_remove_all (self->queue_items);
  g_hash_table_remove_all (self->running);
  g_hash_table_remove_all (self->unfinished);
  g_hash_table_remove_all (self->unfinished_per_app);
  g_hash_table_remove_all (self->yielded);
  g_queue_clear (&self->resident_finished);
  g_hash_table_remove_all (self->resident_links);
  g_hash_table_remove_all (self->transfers);
  g_hash_table_iter_init (&iter, self->completion_groups);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      g_signal_handlers_disconnect_by_data (value, self);
      bt_completion_group_unexport (value);
    }
  g_hash_table_remove_all (self->completion_groups);
  if (self->store != NULL)
    {
      g_autoptr (GError) error = NULL;

      if (!bt_store_flush (self->store, &error))
        g_warning ("%s", error->message);
    }

  if (self->registration_id != 0)
    {
      g_dbus_connection_unregister_object (self->connection, self->registration_id);
      self->registration_id = 0;
    }
  if (self->transfers_registration_id != 0)
    {
      g_dbus_connection_unregister_subtree (self->connection, self->transfers_registration_id);
      self->transfers_registration_id = 0;
    }
}

static void
bt_manager_dispose (GObject *object)
{
  BtManager *self = BT_MANAGER (object);

  bt_manager_shutdown (self);
  g_clear_handle_id (&self->schedule_source, g_source_remove);
  g_clear_handle_id (&self->idle_source, g_source_remove);
  if (self->callers != NULL)
    g_signal_handlers_disconnect_by_data (self->callers, self);
  if (self->settings != NULL)
    g_signal_handlers_disconnect_by_data (self->settings, self);
  if (self->policy != NULL)
    g_signal_handlers_disconnect_by_data (self->policy, self);
  g_clear_object (&self->callers);
  g_clear_object (&self->settings);
  g_clear_object (&self->store);
  g_clear_object (&self->session);
  g_clear_object (&self->policy);
  g_clear_object (&self->connection);

  G_OBJECT_CLASS (bt_manager_parent_class)->dispose (object);
}

static void
bt_manager_finalize (GObject *object)
{
  BtManager *self = BT_MANAGER (object);

  g_sequence_free (self->queue);
  g_hash_table_unref (self->queue_items);
  g_hash_table_unref (self->running);
  g_hash_table_unref (self->unfinished);
  g_hash_table_unref (self->unfinished_per_app);
  g_hash_table_unref (self->yielded);
  g_hash_table_unref (self->resident_links);
  bt_archive_free (self->archive);
  g_hash_table_unref (self->transfers);
  g_hash_table_unref (self->calls_in_flight);
  g_hash_table_unref (self->serialized_groups);
  g_hash_table_unref (self->completion_groups);
  g_free (self->responses_dir);

  G_OBJECT_CLASS (bt_manager_parent_class)->finalize (object);
}

static void
bt_manager_class_init (BtManagerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = bt_manager_dispose;
  object_class->finalize = bt_manager_finalize;

  /* Nothing to do and nobody connected for the idle timeout */
  signals[SIGNAL_IDLE] = g_signal_new ("idle", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                       NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
bt_manager_init (BtManager *self)
{
  self->transfers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->queue = g_sequence_new (g_free);
  self->queue_items = g_hash_table_new (NULL, NULL);
  self->running = g_hash_table_new (NULL, NULL);
  self->unfinished = g_hash_table_new (NULL, NULL);
  self->unfinished_per_app = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->yielded = g_hash_table_new (NULL, NULL);
  self->resident_links = g_hash_table_new (NULL, NULL);
  self->archive = bt_archive_new ();
  self->policy_dirty = TRUE;
  self->calls_in_flight = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->serialized_groups = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->completion_groups = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
}

/* ---- The transfer objects --------------------------------------------- */

/* Only the caller's own transfers are listed (introspection would
 * otherwise hand every app the ids of the others); an unidentified caller
 * sees none. A call on any node is dispatched: the transfer itself checks
 * the caller, and answers AccessDenied to anyone else. */
typedef struct
{
  const char *app_id;
  GPtrArray *nodes;
} EnumerateData;

static void
enumerate_archived (const BtArchived *archived, EnumerateData *data)
{
  if (g_str_equal (archived->app_id, data->app_id))
    g_ptr_array_add (data->nodes, g_strdup (archived->id));
}

static char **
transfers_enumerate (GDBusConnection *connection, const char *sender, const char *object_path,
                     gpointer user_data)
{
  BtManager *self = user_data;
  const char *app_id = bt_callers_lookup (self->callers, sender);
  g_autoptr (GPtrArray) nodes = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->transfers);
  while (app_id != NULL && g_hash_table_iter_next (&iter, NULL, &value))
    {
      BtTransfer *transfer = value;

      if (g_str_equal (bt_transfer_get_app_id (transfer), app_id))
        g_ptr_array_add (nodes, g_strdup (bt_transfer_get_id (transfer)));
    }
  if (app_id != NULL)
    {
      EnumerateData data = { app_id, nodes };

      bt_archive_foreach (self->archive, (GFunc) enumerate_archived, &data);
    }
  g_ptr_array_add (nodes, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&nodes), FALSE);
}

/* GDBus dispatches a call only to the interfaces listed here: a transfer
 * node has its interface whoever asks, so that a stranger gets
 * AccessDenied from the transfer rather than UnknownMethod */
static GDBusInterfaceInfo **
transfers_introspect (GDBusConnection *connection, const char *sender, const char *object_path,
                      const char *node, gpointer user_data)
{
  BtManager *self = user_data;
  GDBusInterfaceInfo **infos;

  if (node == NULL
      || (!g_hash_table_contains (self->transfers, node)
          && bt_archive_lookup (self->archive, node) == NULL))
    return NULL;
  infos = g_new0 (GDBusInterfaceInfo *, 2);
  infos[0] = g_dbus_interface_info_ref (
      (GDBusInterfaceInfo *) &org_freedesktop_background_transfer_transfer_interface);
  return infos;
}

/* A call on a transfer finds it when it is handled, not when GDBus
 * routes it: it may have been archived in between, or be read back */
static void
transfer_method_call (GDBusConnection *connection, const char *sender, const char *object_path,
                      const char *interface_name, const char *method_name, GVariant *parameters,
                      GDBusMethodInvocation *invocation, gpointer user_data)
{
  BtManager *self = user_data;
  const char *id = g_str_has_prefix (object_path, BT_TRANSFER_PATH_PREFIX)
                       ? object_path + strlen (BT_TRANSFER_PATH_PREFIX)
                       : NULL;
  BtTransfer *transfer = id != NULL ? find_transfer (self, id) : NULL;

  if (transfer == NULL || !bt_transfer_is_exported (transfer))
    {
      g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT,
                                             "No such transfer");
      return;
    }
  bt_transfer_vtable ()->method_call (connection, sender, object_path, interface_name, method_name,
                                      parameters, invocation, transfer);
}

static const GDBusInterfaceVTable transfer_call_vtable = {
  transfer_method_call,
  NULL,
  NULL,
  { 0 },
};

static const GDBusInterfaceVTable *
transfers_dispatch (GDBusConnection *connection, const char *sender, const char *object_path,
                    const char *interface_name, const char *node, gpointer *out_user_data,
                    gpointer user_data)
{
  BtManager *self = user_data;

  if (node == NULL || g_strcmp0 (interface_name, BT_TRANSFER_INTERFACE) != 0
      || (!g_hash_table_contains (self->transfers, node)
          && bt_archive_lookup (self->archive, node) == NULL))
    return NULL;
  *out_user_data = self;
  return &transfer_call_vtable;
}

static const GDBusSubtreeVTable transfers_subtree_vtable = {
  transfers_enumerate,
  transfers_introspect,
  transfers_dispatch,
  { 0 },
};

BtManager *
bt_manager_new (GDBusConnection *connection, guint idle_timeout_s, GError **error)
{
  g_autoptr (BtManager) self = g_object_new (BT_TYPE_MANAGER, NULL);
  g_autofree char *state_dir = g_build_filename (g_get_user_state_dir (), "bgtransfer", NULL);
  g_autofree char *store_path = g_build_filename (state_dir, "state.db", NULL);

  self->responses_dir = g_build_filename (state_dir, "responses", NULL);
  self->store = bt_store_open (store_path, error);
  if (self->store == NULL)
    return NULL;

  self->connection = g_object_ref (connection);
  self->idle_timeout_s = idle_timeout_s;
  self->callers = bt_callers_new (connection);
  self->settings = bt_settings_new ();
  self->session = bt_soup_session_new (self->settings);
  apply_rate_limits (self->settings);
  g_signal_connect (self->callers, "changed", G_CALLBACK (on_callers_changed), self);
  g_signal_connect (self->settings, "changed", G_CALLBACK (on_settings_changed), self);

  self->policy = bt_policy_new (self->settings, state_dir);
  self->network_state = bt_policy_get_network_state (self->policy);
  self->power_state = bt_policy_get_power_state (self->policy);
  g_signal_connect (self->policy, "changed", G_CALLBACK (on_policy_changed), self);

  /* Bring back what the last instance left; the scheduler resumes it */
  bt_store_load_objects (self->store, load_object, self);
  bt_store_load (self->store, load_record, self);
  {
    GHashTableIter iter;
    gpointer group;

    g_hash_table_iter_init (&iter, self->completion_groups);
    while (g_hash_table_iter_next (&iter, NULL, &group))
      check_completion_group (self, group);
  }
  schedule (self);

  self->transfers_registration_id = g_dbus_connection_register_subtree (
      connection, BT_TRANSFERS_PATH, &transfers_subtree_vtable,
      G_DBUS_SUBTREE_FLAGS_DISPATCH_TO_UNENUMERATED_NODES, self, NULL, error);
  if (self->transfers_registration_id == 0)
    return NULL;

  self->registration_id = g_dbus_connection_register_object (
      connection, BT_MANAGER_PATH,
      (GDBusInterfaceInfo *) &org_freedesktop_background_transfer_manager_interface,
      &manager_vtable, self, NULL, error);
  if (self->registration_id == 0)
    return NULL;

  update_idle (self);
  return g_steal_pointer (&self);
}

BtCallers *
bt_manager_get_callers (BtManager *self)
{
  return self->callers;
}
