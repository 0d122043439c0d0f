/* bt-record.c: an object's record in the state store, from one key table
 *
 * A record is an a{sv} (bt-store.c keeps it as a serialized GVariant).
 * The object that owns the data describes its persistent fields once, in
 * a table of keys, types and struct offsets kept beside its private struct
 * (see bt-transfer.c), and both directions follow that one table: nothing
 * can be written under one key and read under another. The reader takes
 * what the disk says with suspicion: a value of the wrong type is
 * ignored, an unknown enum string is an error.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>

#include "bt-error.h"
#include "bt-record.h"

#define FIELD(object, field, type) ((type *) (gpointer) ((guint8 *) (object) + (field)->offset))

static GVariant *
pairs_to_variant (GPtrArray *pairs)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(ss)"));
  for (guint i = 0; pairs != NULL && i + 1 < pairs->len; i += 2)
    g_variant_builder_add (&builder, "(ss)", (const char *) g_ptr_array_index (pairs, i),
                           (const char *) g_ptr_array_index (pairs, i + 1));
  return g_variant_builder_end (&builder);
}

static GPtrArray *
pairs_from_variant (GVariant *value)
{
  GPtrArray *pairs = g_ptr_array_new_with_free_func (g_free);
  GVariantIter iter;
  const char *name, *v;

  g_variant_iter_init (&iter, value);
  while (g_variant_iter_next (&iter, "(&s&s)", &name, &v))
    {
      g_ptr_array_add (pairs, g_strdup (name));
      g_ptr_array_add (pairs, g_strdup (v));
    }
  return pairs;
}

/*
 * bt_record_write:
 * @object: the struct the offsets of @fields point into
 * @builder: an a{sv} builder
 *
 * Adds every field of @fields that has a value (strings, arrays and
 * dictionaries that are %NULL are left out).
 */
void
bt_record_write (const BtRecordField *fields, gsize n_fields, gconstpointer object,
                 GVariantBuilder *builder)
{
  for (gsize i = 0; i < n_fields; i++)
    {
      const BtRecordField *f = &fields[i];
      GVariant *value = NULL;

      switch (f->type)
        {
          case BT_FIELD_STRING:
            {
              const char *s = *FIELD (object, f, char *);

              if (s != NULL)
                value = g_variant_new_string (s);
              break;
            }
          case BT_FIELD_BOOLEAN:
            value = g_variant_new_boolean (*FIELD (object, f, gboolean));
            break;
          case BT_FIELD_UINT32:
            value = g_variant_new_uint32 (*FIELD (object, f, guint));
            break;
          case BT_FIELD_UINT64:
            value = g_variant_new_uint64 (*FIELD (object, f, guint64));
            break;
          case BT_FIELD_INT64:
            value = g_variant_new_int64 (*FIELD (object, f, gint64));
            break;
          case BT_FIELD_STRV:
            {
              const char *const *strv = *FIELD (object, f, const char *const *);

              if (strv != NULL)
                value = g_variant_new_strv (strv, -1);
              break;
            }
          case BT_FIELD_PAIRS:
            value = pairs_to_variant (*FIELD (object, f, GPtrArray *));
            break;
          case BT_FIELD_VARDICT:
            value = *FIELD (object, f, GVariant *);
            break;
          case BT_FIELD_ENUM:
            {
              int v = *FIELD (object, f, int);

              g_return_if_fail (v >= 0 && (gsize) v < f->n_names);
              value = g_variant_new_string (f->names[v]);
              break;
            }
          case BT_FIELD_CUSTOM:
            value = f->write (object);
            break;
          default:
            g_assert_not_reached ();
        }
      if (value != NULL)
        g_variant_builder_add (builder, "{sv}", f->key, value);
    }
}

static gboolean
read_enum (const BtRecordField *f, const char *str, int *out)
{
  for (gsize i = 0; i < f->n_names; i++)
    {
      if (g_str_equal (f->names[i], str))
        {
          *out = (int) i;
          return TRUE;
        }
    }
  return FALSE;
}

/*
 * bt_record_read:
 * @object: the struct the offsets of @fields point into; fields absent
 *   from @record keep their values
 *
 * Returns: %FALSE, with @error set, for an enum string of no known value;
 *   fields read before it are set
 */
gboolean
bt_record_read (const BtRecordField *fields, gsize n_fields, gpointer object, GVariantDict *record,
                GError **error)
{
  for (gsize i = 0; i < n_fields; i++)
    {
      const BtRecordField *f = &fields[i];

      switch (f->type)
        {
          case BT_FIELD_STRING:
            {
              const char *s;

              if (g_variant_dict_lookup (record, f->key, "&s", &s))
                {
                  g_free (*FIELD (object, f, char *));
                  *FIELD (object, f, char *) = g_strdup (s);
                }
              break;
            }
          case BT_FIELD_BOOLEAN:
            g_variant_dict_lookup (record, f->key, "b", FIELD (object, f, gboolean));
            break;
          case BT_FIELD_UINT32:
            g_variant_dict_lookup (record, f->key, "u", FIELD (object, f, guint));
            break;
          case BT_FIELD_UINT64:
            g_variant_dict_lookup (record, f->key, "t", FIELD (object, f, guint64));
            break;
          case BT_FIELD_INT64:
            g_variant_dict_lookup (record, f->key, "x", FIELD (object, f, gint64));
            break;
          case BT_FIELD_STRV:
            {
              char **strv;

              if (g_variant_dict_lookup (record, f->key, "^as", &strv))
                {
                  g_strfreev (*FIELD (object, f, char **));
                  *FIELD (object, f, char **) = strv;
                }
              break;
            }
          case BT_FIELD_PAIRS:
            {
              g_autoptr (GVariant) value
                  = g_variant_dict_lookup_value (record, f->key, G_VARIANT_TYPE ("a(ss)"));

              if (value != NULL)
                {
                  GPtrArray **slot = FIELD (object, f, GPtrArray *);

                  g_clear_pointer (slot, g_ptr_array_unref);
                  *slot = pairs_from_variant (value);
                }
              break;
            }
          case BT_FIELD_VARDICT:
            {
              GVariant *value
                  = g_variant_dict_lookup_value (record, f->key, G_VARIANT_TYPE_VARDICT);

              if (value != NULL)
                {
                  GVariant **slot = FIELD (object, f, GVariant *);

                  g_clear_pointer (slot, g_variant_unref);
                  *slot = value;
                }
              break;
            }
          case BT_FIELD_ENUM:
            {
              const char *s;

              /* Not required: an unknown value (a newer version's?) keeps
               * the default */
              if (g_variant_dict_lookup (record, f->key, "&s", &s)
                  && !read_enum (f, s, FIELD (object, f, int)) && f->required)
                {
                  g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                               "Unknown value “%s” of “%s”", s, f->key);
                  return FALSE;
                }
              break;
            }
          case BT_FIELD_CUSTOM:
            {
              g_autoptr (GVariant) value = g_variant_dict_lookup_value (record, f->key, NULL);

              f->read (object, value);
              break;
            }
          default:
            g_assert_not_reached ();
        }
    }
  return TRUE;
}
