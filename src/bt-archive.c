/* bt-archive.c: finished transfers, kept in the store rather than in memory
 *
 * A finished transfer stays listed (GetTransfers) and readable on the bus
 * until the app removes it or the retention period ends. Thousands of
 * them, each a full transfer object (its texts, headers, bus state: some
 * 3–5 KiB), would make the service's memory grow with every file it ever
 * downloaded. The service keeps only the most recently used finished
 * transfers as objects (bt-manager.c) and archives the others: their
 * records stay in the store, and memory holds only what GetTransfers
 * filters on and what a completion group reports, a hundred bytes or so.
 * An archived transfer is read back from the store as soon as anyone
 * calls it or reads its properties.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "bt-archive.h"

/* Entries live in blocks of this many, allocated once and never moved:
 * archived transfers pile up while others come and go, and entries
 * scattered among theirs would keep the memory the others freed from
 * going back to the system (bt-manager.c trims it when it is quiet) */
#define BLOCK_ENTRIES 1024

typedef struct
{
  BtArchived archived;
  char id[33]; /* ids are 32 hex digits; a longer one is allocated */
} Entry;

struct _BtArchive
{
  GHashTable *entries; /* id → Entry (the key is its id) */
  GPtrArray *blocks;   /* Entry[BLOCK_ENTRIES] */
  GPtrArray *free;     /* Entry, to reuse */
  guint used_in_last;  /* entries handed out of the last block */
};

static void
entry_release (BtArchive *self, Entry *entry)
{
  if (entry->archived.id != entry->id)
    g_free ((char *) entry->archived.id);
  entry->archived.id = NULL;
  g_ptr_array_add (self->free, entry);
}

static Entry *
entry_take (BtArchive *self)
{
  if (self->free->len > 0)
    return g_ptr_array_steal_index_fast (self->free, self->free->len - 1);
  if (self->blocks->len == 0 || self->used_in_last == BLOCK_ENTRIES)
    {
      g_ptr_array_add (self->blocks, g_new0 (Entry, BLOCK_ENTRIES));
      self->used_in_last = 0;
    }
  return &((Entry *) g_ptr_array_index (self->blocks, self->blocks->len - 1))[self->used_in_last++];
}

BtArchive *
bt_archive_new (void)
{
  BtArchive *self = g_new0 (BtArchive, 1);

  self->entries = g_hash_table_new (g_str_hash, g_str_equal);
  self->blocks = g_ptr_array_new_with_free_func (g_free);
  self->free = g_ptr_array_new ();
  return self;
}

void
bt_archive_free (BtArchive *self)
{
  GHashTableIter iter;
  gpointer value;

  if (self == NULL)
    return;
  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    entry_release (self, value);
  g_hash_table_unref (self->entries);
  g_ptr_array_unref (self->free);
  g_ptr_array_unref (self->blocks);
  g_free (self);
}

/* @archived: copied; its texts interned (app ids and groups are few) */
void
bt_archive_add (BtArchive *self, const BtArchived *archived)
{
  Entry *entry;

  bt_archive_remove (self, archived->id);
  entry = entry_take (self);
  entry->archived = *archived;
  if (strlen (archived->id) < sizeof entry->id)
    entry->archived.id = strcpy (entry->id, archived->id);
  else
    entry->archived.id = g_strdup (archived->id);
  entry->archived.app_id = g_intern_string (archived->app_id);
  entry->archived.group = g_intern_string (archived->group);
  g_hash_table_insert (self->entries, (gpointer) entry->archived.id, entry);
}

/*
 * bt_archive_add_record:
 * @record: a transfer's record, as the store keeps it
 * @out_completed_time: (out): when it ended, µs since the epoch (0 if
 *   the record does not say)
 *
 * Archives a transfer straight from its record, if it is finished (a
 * service starting up need not build an object for each).
 *
 * Returns: whether the record was of a finished transfer, and archived
 */
gboolean
bt_archive_add_record (BtArchive *self, const char *id, const char *app_id, guint64 seq,
                       GVariant *record, gint64 *out_completed_time)
{
  BtArchived archived = { 0 };
  const char *status = NULL, *kind = NULL, *group = NULL, *error_status = NULL;
  gboolean place_unsynced = FALSE;

  *out_completed_time = 0;
  if (!g_variant_lookup (record, "status", "&s", &status)
      || !bt_status_from_string (status, &archived.status)
      || !bt_status_is_finished (archived.status) || !g_variant_lookup (record, "kind", "&s", &kind)
      || !bt_kind_from_string (kind, &archived.kind))
    return FALSE;
  /* Completed as the service stopped, its data perhaps not in place: built,
   * it checks (bt_transfer_new_from_record()) */
  if (g_variant_lookup (record, "place-unsynced", "b", &place_unsynced) && place_unsynced)
    return FALSE;
  g_variant_lookup (record, "group", "&s", &group);
  if (g_variant_lookup (record, "error-status", "&s", &error_status))
    archived.error_status = bt_error_status_from_string (error_status);
  g_variant_lookup (record, "completed-time", "x", out_completed_time);
  archived.id = id;
  archived.app_id = app_id;
  archived.group = group;
  archived.seq = seq;
  bt_archive_add (self, &archived);
  return TRUE;
}

/* Returns: (nullable): the archived transfer @id */
const BtArchived *
bt_archive_lookup (BtArchive *self, const char *id)
{
  return g_hash_table_lookup (self->entries, id);
}

void
bt_archive_remove (BtArchive *self, const char *id)
{
  Entry *entry = g_hash_table_lookup (self->entries, id);

  if (entry == NULL)
    return;
  g_hash_table_remove (self->entries, id);
  entry_release (self, entry);
}

guint
bt_archive_get_size (BtArchive *self)
{
  return g_hash_table_size (self->entries);
}

/* @func: called with each BtArchived */
void
bt_archive_foreach (BtArchive *self, GFunc func, gpointer user_data)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    func (value, user_data);
}
