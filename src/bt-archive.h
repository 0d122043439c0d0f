/* bt-archive.h: finished transfers, kept in the store rather than in memory
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "bt-types.h"

G_BEGIN_DECLS

/* What the service keeps in memory of a finished transfer it archived:
 * what GetTransfers filters on, and what a completion group reports */
typedef struct
{
  const char *id;
  const char *app_id; /* interned */
  const char *group;  /* interned, or NULL */
  guint64 seq;
  BtKind kind;
  BtStatus status;
  BtErrorStatus error_status;
} BtArchived;

typedef struct _BtArchive BtArchive;

BtArchive *bt_archive_new (void);
void bt_archive_free (BtArchive *self);
void bt_archive_add (BtArchive *self, const BtArchived *archived);
gboolean bt_archive_add_record (BtArchive *self, const char *id, const char *app_id, guint64 seq,
                                GVariant *record, gint64 *out_completed_time);
const BtArchived *bt_archive_lookup (BtArchive *self, const char *id);
void bt_archive_remove (BtArchive *self, const char *id);
guint bt_archive_get_size (BtArchive *self);
void bt_archive_foreach (BtArchive *self, GFunc func, gpointer user_data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BtArchive, bt_archive_free)

G_END_DECLS
