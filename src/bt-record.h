/* bt-record.h: an object's record in the state store, from one key table
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  BT_FIELD_STRING,  /* char *, NULL for none */
  BT_FIELD_BOOLEAN, /* gboolean */
  BT_FIELD_UINT32,  /* guint */
  BT_FIELD_UINT64,  /* guint64 */
  BT_FIELD_INT64,   /* gint64 */
  BT_FIELD_STRV,    /* GStrv, NULL for none */
  BT_FIELD_PAIRS,   /* GPtrArray * of alternating names and values */
  BT_FIELD_VARDICT, /* GVariant * of type a{sv}, NULL for none */
  BT_FIELD_ENUM,    /* an enum (int-sized) stored as its bus string */
  BT_FIELD_CUSTOM,  /* computed: write() and read() below */
} BtFieldType;

/* One key of a record and where its value lives in the object */
typedef struct
{
  const char *key;
  BtFieldType type;
  gsize offset;
  const char *const *names; /* BT_FIELD_ENUM: the bus strings, by value */
  gsize n_names;
  gboolean required; /* BT_FIELD_ENUM: an unknown string makes the record invalid */
  /* BT_FIELD_CUSTOM: (transfer floating) (nullable) the value to store */
  GVariant *(*write) (gconstpointer object);
  /* BT_FIELD_CUSTOM: @value as stored, of any type, or NULL if absent */
  void (*read) (gpointer object, GVariant *value);
} BtRecordField;

void bt_record_write (const BtRecordField *fields, gsize n_fields, gconstpointer object,
                      GVariantBuilder *builder);
GVariant *bt_record_serialize (const BtRecordField *fields, gsize n_fields, gconstpointer object);
GVariant *bt_record_pairs (GPtrArray *pairs, const char *const *hidden);
gboolean bt_record_read (const BtRecordField *fields, gsize n_fields, gpointer object,
                         GVariantDict *record, GError **error);

G_END_DECLS
