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

#include <string.h>

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
      /* Not g_variant_builder_add (builder, "{sv}", …), which parses its
       * format string again for every field */
      if (value != NULL)
        g_variant_builder_add_value (builder,
                                     g_variant_new_dict_entry (g_variant_new_string (f->key),
                                                               g_variant_new_variant (value)));
    }
}

/* ---- The same record, serialised directly ---------------------------------
 *
 * bt_record_write() builds the record as a tree of GVariants, which GLib
 * then flattens into bytes: some 400,000 instructions for a transfer's
 * record, several records for each small file a service downloads, a
 * third of its time in the 1,000-file benchmark. bt_record_serialize()
 * writes the bytes of the same record directly, in GVariant's
 * serialisation format (normal form, the bytes GLib itself would write:
 * tests/unit/test-record.c compares them), and wraps them in a GVariant
 * once.
 *
 * The format (GVariant specification, "Serialisation"): a value is aligned
 * to its type's alignment relative to the start of its container (here
 * the buffer, which the record starts); a variant is its child's bytes, a
 * zero byte and the child's type string; a structure or dictionary entry
 * lays its members out in order, each aligned, and ends with the end
 * offsets of its variable-sized members but the last, in reverse; an
 * array of variable-sized elements ends with the end offset of each
 * element, in order. Framing offsets are little-endian, of the smallest
 * size of 1, 2, 4 or 8 bytes that can hold the container's total size. */

static const guint8 zeros[8] = { 0 };

/* The bytes being written: a record takes a few hundred small writes,
 * which a GByteArray would each pay a function call and a size check for */
typedef struct
{
  guint8 *data;
  gsize len;
  gsize alloc;
} Buf;

static void
buf_init (Buf *buf, gsize size)
{
  buf->data = g_malloc (size);
  buf->len = 0;
  buf->alloc = size;
}

static G_GNUC_NO_INLINE void
buf_grow (Buf *buf, gsize more)
{
  buf->alloc = MAX (buf->alloc * 2, buf->len + more);
  buf->data = g_realloc (buf->data, buf->alloc);
}

static inline void
put (Buf *buf, gconstpointer data, gsize size)
{
  if (size == 0)
    return; /* an empty value's data may be NULL */
  if (buf->len + size > buf->alloc)
    buf_grow (buf, size);
  memcpy (buf->data + buf->len, data, size);
  buf->len += size;
}

/* Returns: (transfer floating): @buf's bytes as a value of @type */
static GVariant *
buf_free_to_variant (Buf *buf, const GVariantType *type)
{
  g_autoptr (GBytes) bytes = g_bytes_new_take (g_steal_pointer (&buf->data), buf->len);

  return g_variant_new_from_bytes (type, bytes, TRUE);
}

static void
align (Buf *buf, gsize alignment)
{
  gsize pad = (alignment - buf->len % alignment) % alignment;

  put (buf, zeros, pad);
}

static void
put_string (Buf *buf, const char *s)
{
  put (buf, s, strlen (s) + 1);
}

/* The container's total size once its @n framing offsets are added */
static gsize
framed_size (gsize body, gsize n)
{
  if (body + n <= G_MAXUINT8)
    return body + n;
  if (body + 2 * n <= G_MAXUINT16)
    return body + 2 * n;
  if (body + 4 * n <= G_MAXUINT32)
    return body + 4 * n;
  return body + 8 * n;
}

static guint
offset_size (gsize total)
{
  return total > G_MAXUINT32   ? 8
         : total > G_MAXUINT16 ? 4
         : total > G_MAXUINT8  ? 2
         : total > 0           ? 1
                               : 0;
}

/* The framing offsets of a container whose other bytes number @body */
static void
put_offsets (Buf *buf, gsize body, const gsize *offsets, gsize n, gboolean reverse)
{
  guint size = offset_size (framed_size (body, n));

  for (gsize i = 0; i < n; i++)
    {
      guint64 le = GUINT64_TO_LE ((guint64) offsets[reverse ? n - 1 - i : i]);

      put (buf, &le, size);
    }
}

/* as */
static void
put_strv (Buf *buf, const char *const *strv)
{
  gsize start = buf->len;
  g_autoptr (GArray) ends = g_array_new (FALSE, FALSE, sizeof (gsize));

  for (gsize i = 0; strv[i] != NULL; i++)
    {
      gsize end;

      put_string (buf, strv[i]);
      end = buf->len - start;
      g_array_append_val (ends, end);
    }
  put_offsets (buf, buf->len - start, (const gsize *) (void *) ends->data, ends->len, FALSE);
}

static gboolean
is_hidden (const char *name, const char *const *hidden)
{
  for (gsize i = 0; hidden != NULL && hidden[i] != NULL; i++)
    if (g_ascii_strcasecmp (name, hidden[i]) == 0)
      return TRUE;
  return FALSE;
}

/* a(ss), without the pairs whose name is one of @hidden */
static void
put_pairs (Buf *buf, GPtrArray *pairs, const char *const *hidden)
{
  gsize start = buf->len;
  g_autoptr (GArray) ends = g_array_new (FALSE, FALSE, sizeof (gsize));

  for (guint i = 0; pairs != NULL && i + 1 < pairs->len; i += 2)
    {
      gsize element = buf->len, name_end, end;

      if (is_hidden (g_ptr_array_index (pairs, i), hidden))
        continue;
      put_string (buf, g_ptr_array_index (pairs, i));
      name_end = buf->len - element;
      put_string (buf, g_ptr_array_index (pairs, i + 1));
      put_offsets (buf, buf->len - element, &name_end, 1, TRUE);
      end = buf->len - start;
      g_array_append_val (ends, end);
    }
  put_offsets (buf, buf->len - start, (const gsize *) (void *) ends->data, ends->len, FALSE);
}

/* Any value the GVariant way: its serialised bytes */
static void
put_variant_data (Buf *buf, GVariant *value)
{
  put (buf, g_variant_get_data (value), g_variant_get_size (value));
}

/* One {sv} entry of the record; the buffer is aligned to 8. @custom: a
 * custom field's value, computed already */
static void
put_entry (Buf *buf, const BtRecordField *f, gconstpointer object, GVariant *custom)
{
  gsize start = buf->len, key_end;
  const char *type;

  put_string (buf, f->key);
  key_end = buf->len - start;
  align (buf, 8);
  switch (f->type)
    {
      case BT_FIELD_STRING:
        put_string (buf, *FIELD (object, f, char *));
        type = "s";
        break;
      case BT_FIELD_BOOLEAN:
        put (buf, (*FIELD (object, f, gboolean) ? "\1" : "\0"), 1);
        type = "b";
        break;
      case BT_FIELD_UINT32:
        {
          guint32 v = *FIELD (object, f, guint);

          put (buf, &v, sizeof v);
          type = "u";
          break;
        }
      case BT_FIELD_UINT64:
        {
          guint64 v = *FIELD (object, f, guint64);

          put (buf, &v, sizeof v);
          type = "t";
          break;
        }
      case BT_FIELD_INT64:
        {
          gint64 v = *FIELD (object, f, gint64);

          put (buf, &v, sizeof v);
          type = "x";
          break;
        }
      case BT_FIELD_STRV:
        put_strv (buf, *FIELD (object, f, const char *const *));
        type = "as";
        break;
      case BT_FIELD_PAIRS:
        put_pairs (buf, *FIELD (object, f, GPtrArray *), NULL);
        type = "a(ss)";
        break;
      case BT_FIELD_VARDICT:
        put_variant_data (buf, *FIELD (object, f, GVariant *));
        type = "a{sv}";
        break;
      case BT_FIELD_ENUM:
        put_string (buf, f->names[*FIELD (object, f, int)]);
        type = "s";
        break;
      case BT_FIELD_CUSTOM:
        put_variant_data (buf, custom);
        type = g_variant_get_type_string (custom);
        break;
      default:
        g_assert_not_reached ();
    }
  put (buf, zeros, 1);
  put (buf, type, strlen (type));
  put_offsets (buf, buf->len - start, &key_end, 1, TRUE);
}

/* Whether bt_record_write() writes the field (it leaves out what is not
 * there); a custom field's value is computed here, once */
static gboolean
has_value (const BtRecordField *f, gconstpointer object, GVariant **out_custom)
{
  switch (f->type)
    {
      case BT_FIELD_STRING:
      case BT_FIELD_STRV:
      case BT_FIELD_VARDICT:
        return *FIELD (object, f, gpointer) != NULL;
      case BT_FIELD_ENUM:
        {
          int v = *FIELD (object, f, int);

          return v >= 0 && (gsize) v < f->n_names;
        }
      case BT_FIELD_CUSTOM:
        *out_custom = f->write (object);
        if (*out_custom == NULL)
          return FALSE;
        g_variant_ref_sink (*out_custom);
        return TRUE;
      default:
        return TRUE;
    }
}

/*
 * bt_record_pairs:
 * @pairs: (nullable): alternating names and values
 * @hidden: (nullable) (array zero-terminated=1): names (any case) left out
 *
 * Returns: (transfer floating): the pairs as an a(ss), serialised at once
 *   (for records and replies: cheaper than building one with a
 *   GVariantBuilder, which is flattened later anyway)
 */
GVariant *
bt_record_pairs (GPtrArray *pairs, const char *const *hidden)
{
  Buf buf;

  buf_init (&buf, 512);
  put_pairs (&buf, pairs, hidden);
  return buf_free_to_variant (&buf, G_VARIANT_TYPE ("a(ss)"));
}

/*
 * bt_record_serialize:
 * @object: the struct the offsets of @fields point into
 *
 * Returns: (transfer floating): the record: the same a{sv}, to the byte,
 *   as bt_record_write() adds to an empty builder
 */
GVariant *
bt_record_serialize (const BtRecordField *fields, gsize n_fields, gconstpointer object)
{
  g_autofree gsize *ends = g_new (gsize, n_fields);
  gsize n_ends = 0;
  Buf buf;

  buf_init (&buf, 2048);
  for (gsize i = 0; i < n_fields; i++)
    {
      g_autoptr (GVariant) custom = NULL;

      if (!has_value (&fields[i], object, &custom))
        continue;
      align (&buf, 8);
      put_entry (&buf, &fields[i], object, custom);
      ends[n_ends++] = buf.len;
    }
  put_offsets (&buf, buf.len, ends, n_ends, FALSE);
  return buf_free_to_variant (&buf, G_VARIANT_TYPE_VARDICT);
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
