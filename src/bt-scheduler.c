/* bt-scheduler.c: which queued transfers start now
 *
 * A pure decision, unit-tested (tests/unit/test-scheduler.c): the queue
 * is ordered by priority, then by creation; transfers start while the
 * global limit (max-concurrent-transfers) has room, each only if its
 * host's connections stay within max-connections-per-host and its
 * serialized group lets it. A transfer held back by its host or its
 * group does not hold back the ones behind it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdlib.h>

#include "bt-scheduler.h"

static gint
compare_entries (gconstpointer a, gconstpointer b)
{
  const BtQueueEntry *ea = a, *eb = b;

  if (ea->priority != eb->priority)
    return ea->priority > eb->priority ? -1 : 1;
  return ea->seq < eb->seq ? -1 : (ea->seq > eb->seq ? 1 : 0);
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
      guint load = entry->host != NULL
                       ? GPOINTER_TO_UINT (g_hash_table_lookup (host_load, entry->host))
                       : 0;

      if (!entry->its_turn)
        continue;
      /* A transfer that needs more than the limit alone still runs alone */
      if (entry->host != NULL && load > 0 && load + entry->connections > max_per_host)
        continue;
      if (entry->host != NULL)
        g_hash_table_replace (host_load, g_strdup (entry->host),
                              GUINT_TO_POINTER (load + entry->connections));
      g_ptr_array_add (picked, entry);
      running++;
    }
  return picked;
}
