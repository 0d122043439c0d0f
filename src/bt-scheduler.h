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
  /* Its size, for the size-aware order (bt-scheduler.c) */
  guint64 remaining;  /* bytes left to move, BT_SIZE_UNKNOWN when unknown */
  guint64 rate;       /* running: bytes/s, 0 while unknown */
  gboolean may_yield; /* running: can stop now and resume later without loss */
} BtQueueEntry;

/* Big: more than this is left to move… */
#define BT_SCHEDULER_BIG_BYTES (8 * 1024 * 1024)
/* …and, at its rate once known, for longer than this */
#define BT_SCHEDULER_BIG_SECONDS 2

gboolean bt_scheduler_is_big (const BtQueueEntry *entry);
GPtrArray *bt_scheduler_pick (BtQueueEntry *entries, guint n_entries, guint running,
                              guint max_running, GHashTable *host_load, guint max_per_host);
BtQueueEntry *bt_scheduler_pick_yield (BtQueueEntry *waiting, guint n_waiting,
                                       BtQueueEntry *running, guint n_running, guint max_running,
                                       GHashTable *host_load, guint max_per_host);

G_END_DECLS
