/* bt-scheduler.h: which queued transfers start now
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "bt-types.h"

G_BEGIN_DECLS

/* A queued transfer as the scheduler sees it (a value, not the object) */
typedef struct
{
  BtPriority priority;
  guint64 seq;       /* creation order */
  const char *host;  /* where its connections go */
  guint connections; /* how many it opens to host */
  gboolean its_turn; /* FALSE while its serialized group runs another */
  gpointer data;     /* the caller's */
} BtQueueEntry;

GPtrArray *bt_scheduler_pick (BtQueueEntry *entries, guint n_entries, guint running,
                              guint max_running, GHashTable *host_load, guint max_per_host);

G_END_DECLS
