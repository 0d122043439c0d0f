/* fuzz-record.c: the state store's records, as the service reads them
 *
 * The input is taken as a serialized a{sv} (what bt-store.c keeps) and
 * read through bt_record_read() with a table of every field type; what
 * was read is written again and read back.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>

#include "bt-record.h"

typedef struct
{
  char *s;
  gboolean b;
  guint u;
  guint64 t;
  gint64 x;
  char **as;
  GPtrArray *pairs;
  GVariant *dict;
  int e;
  int custom_seen;
} Fields;

static const char *const names[] = { "idle", "running", "completed" };

static GVariant *
write_custom (gconstpointer object)
{
  return g_variant_new_string ("custom");
}

static void
read_custom (gpointer object, GVariant *value)
{
  Fields *f = object;

  /* A computed field must take any type the disk gives it */
  if (value != NULL && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    f->custom_seen = (int) g_variant_get_size (value);
}

#define F(key, type, member)                                                                       \
  {                                                                                                \
    key, BT_FIELD_##type, G_STRUCT_OFFSET (Fields, member), NULL, 0, FALSE, NULL, NULL             \
  }

static const BtRecordField fields[] = {
  F ("uri", STRING, s),
  F ("queued", BOOLEAN, b),
  F ("attempts", UINT32, u),
  F ("bytes", UINT64, t),
  F ("created-time", INT64, x),
  F ("mirrors", STRV, as),
  F ("headers", PAIRS, pairs),
  F ("notify", VARDICT, dict),
  { "status", BT_FIELD_ENUM, G_STRUCT_OFFSET (Fields, e), names, G_N_ELEMENTS (names), TRUE, NULL,
    NULL },
  { "source", BT_FIELD_CUSTOM, 0, NULL, 0, FALSE, write_custom, read_custom },
};

static void
fields_clear (Fields *f)
{
  g_free (f->s);
  g_strfreev (f->as);
  g_clear_pointer (&f->pairs, g_ptr_array_unref);
  g_clear_pointer (&f->dict, g_variant_unref);
}

int LLVMFuzzerTestOneInput (const unsigned char *data, size_t size);

int
LLVMFuzzerTestOneInput (const unsigned char *data, size_t size)
{
  g_autoptr (GBytes) bytes = g_bytes_new (data, size);
  g_autoptr (GVariant) untrusted
      = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE_VARDICT, bytes, FALSE));
  g_autoptr (GVariant) record = g_variant_get_normal_form (untrusted);
  g_autoptr (GVariantDict) dict = g_variant_dict_new (record);
  Fields f = { 0 };

  if (bt_record_read (fields, G_N_ELEMENTS (fields), &f, dict, NULL))
    {
      GVariantBuilder b;
      g_autoptr (GVariant) again = NULL;
      g_autoptr (GVariantDict) again_dict = NULL;
      Fields g = { 0 };

      g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
      bt_record_write (fields, G_N_ELEMENTS (fields), &f, &b);
      again = g_variant_ref_sink (g_variant_builder_end (&b));
      /* The service writes the same bytes directly */
      {
        g_autoptr (GVariant) direct
            = g_variant_ref_sink (bt_record_serialize (fields, G_N_ELEMENTS (fields), &f));

        g_assert_cmpmem (g_variant_get_data (direct), g_variant_get_size (direct),
                         g_variant_get_data (again), g_variant_get_size (again));
      }
      again_dict = g_variant_dict_new (again);
      /* What the service wrote, it reads */
      g_assert_true (bt_record_read (fields, G_N_ELEMENTS (fields), &g, again_dict, NULL));
      g_assert_cmpstr (f.s, ==, g.s);
      g_assert_cmpuint (f.t, ==, g.t);
      fields_clear (&g);
    }
  fields_clear (&f);
  return 0;
}
