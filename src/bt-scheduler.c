/* bt-scheduler.c: which queued transfers start now
 *
 * A pure decision, unit-tested (tests/unit/test-scheduler.c): the queue
 * is ordered by priority, then by size, then by creation; transfers start
 * while the global limit (max-concurrent-transfers) has room, each only if
 * its host's connections stay within max-connections-per-host and its
 * serialized group lets it. A transfer held back by its host or its
 * group does not hold back the ones behind it.
 *
 * Small transfers do not queue behind big ones. A transfer is big when it
 * is known to have more than BT_SCHEDULER_BIG_BYTES left and, once its
 * rate is known, more than BT_SCHEDULER_BIG_SECONDS of work left; anything
 * else is small or may be (a transfer that never started has no known
 * size: most are small, and if it is not, it is known so the next time it
 * waits). Among equal priorities:
 *
 *  - the small (or unknown) go first, big ones after them, each in
 *    creation order: whoever is quick is not kept waiting by whoever is
 *    slow (shortest job first, as far as sizes are known);
 *  - when every slot a small transfer could use (a global slot, or a
 *    connection to its host) is held by a big transfer, so that none is
 *    going to free up soon, one big transfer yields its slot: the one
 *    with the most left, among those that can resume where they stop
 *    (bt_scheduler_pick_yield()). It goes back to the queue and resumes
 *    with a range request as soon as a slot frees, behind the small ones.
 *    A transfer yields once at most, so that big ones never take turns.
 *
 * max-concurrent-transfers keeps its meaning: never more run at once.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdlib.h>

#include "bt-resume.h"
#include "bt-scheduler.h"

/*
 * bt_scheduler_is_big:
 *
 * Returns: whether @entry is known to hold a slot for a long time
 */
gboolean
bt_scheduler_is_big (const BtQueueEntry *entry)
{
  if (entry->remaining == BT_SIZE_UNKNOWN || entry->remaining <= BT_SCHEDULER_BIG_BYTES)
    return FALSE;
  return entry->rate == 0 || entry->remaining / entry->rate >= BT_SCHEDULER_BIG_SECONDS;
}

static gint
compare_entries (gconstpointer a, gconstpointer b)
{
  const BtQueueEntry *ea = a, *eb = b;
  gboolean big_a = bt_scheduler_is_big (ea), big_b = bt_scheduler_is_big (eb);

  if (ea->priority != eb->priority)
    return ea->priority > eb->priority ? -1 : 1;
  if (big_a != big_b)
    return big_a ? 1 : -1;
  return ea->seq < eb->seq ? -1 : (ea->seq > eb->seq ? 1 : 0);
}

static guint
load_of (GHashTable *host_load, const char *host)
{
  return host != NULL ? GPOINTER_TO_UINT (g_hash_table_lookup (host_load, host)) : 0;
}

/* A transfer that needs more than the limit alone still runs alone */
static gboolean
host_has_room (const BtQueueEntry *entry, GHashTable *host_load, guint max_per_host)
{
  guint load = load_of (host_load, entry->host);

  return entry->host == NULL || load == 0 || load + entry->connections <= max_per_host;
}

/*
 * bt_scheduler_pick:
 * @entries: (array length=n_entries): the transfers that may start; sorted
 *   in place into queue order
 * @running: how many run already
 * @host_load: (element-type utf8 guint): connections open per host, a
 *   table that frees its keys with g_free(); the picked transfers'
 *   connections are added to it
 *
 * Returns: (transfer container) (element-type BtQueueEntry): the entries to
 *   start, in the order to start them
 */
GPtrArray *
bt_scheduler_pick (BtQueueEntry *entries, guint n_entries, guint running, guint max_running,
                   GHashTable *host_load, guint max_per_host)
{
  GPtrArray *picked = g_ptr_array_new ();

  /* qsort() must not be given NULL, even for nothing (UBSan) */
  if (n_entries > 1)
    qsort (entries, n_entries, sizeof (BtQueueEntry), compare_entries);
  for (guint i = 0; i < n_entries && running < max_running; i++)
    {
      BtQueueEntry *entry = &entries[i];

      if (!entry->its_turn || !host_has_room (entry, host_load, max_per_host))
        continue;
      if (entry->host != NULL)
        g_hash_table_replace (
            host_load, g_strdup (entry->host),
            GUINT_TO_POINTER (load_of (host_load, entry->host) + entry->connections));
      g_ptr_array_add (picked, entry);
      running++;
    }
  return picked;
}

/*
 * bt_scheduler_pick_yield:
 * @waiting: (array length=n_waiting): the transfers still waiting after
 *   bt_scheduler_pick(), in its order
 * @running: (array length=n_running): the transfers running, those just
 *   picked included (with their connections in @host_load)
 * @host_load: (element-type utf8 guint): connections open per host
 *
 * The first small transfer waiting (priority first) waits for a global
 * slot or for a connection to its host. If every transfer holding what it
 * waits for is big, none will free it soon: one of them yields, the one
 * with the most left among those of no higher priority that may yield.
 *
 * Returns: (nullable) (transfer none): the running entry to stop and put
 *   back in the queue, or %NULL
 */
BtQueueEntry *
bt_scheduler_pick_yield (BtQueueEntry *waiting, guint n_waiting, BtQueueEntry *running,
                         guint n_running, guint max_running, GHashTable *host_load,
                         guint max_per_host)
{
  const BtQueueEntry *small = NULL;
  BtQueueEntry *chosen = NULL;
  gboolean global_full = n_running >= max_running;
  gboolean host_full;

  for (guint i = 0; i < n_waiting && small == NULL; i++)
    if (waiting[i].its_turn && !bt_scheduler_is_big (&waiting[i]))
      small = &waiting[i];
  if (small == NULL)
    return NULL;
  host_full = !host_has_room (small, host_load, max_per_host);
  if (!global_full && !host_full)
    return NULL; /* it waits for something else */

  for (guint i = 0; i < n_running; i++)
    {
      BtQueueEntry *entry = &running[i];

      /* Only what stands in its way: all slots, or its host's connections */
      if (!global_full && g_strcmp0 (entry->host, small->host) != 0)
        continue;
      if (!bt_scheduler_is_big (entry))
        return NULL; /* a slot frees up soon */
      if (!entry->may_yield || entry->priority > small->priority)
        continue;
      if (global_full && host_full && g_strcmp0 (entry->host, small->host) != 0)
        continue; /* yielding would not make room on its host */
      if (chosen == NULL || entry->remaining > chosen->remaining
          || (entry->remaining == chosen->remaining && entry->seq > chosen->seq))
        chosen = entry;
    }
  return chosen;
}
