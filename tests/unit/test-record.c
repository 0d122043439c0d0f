/* Unit tests of the record: one key table for writing and reading
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gstdio.h>

#include "bt-record.h"
#include "bt-transfer.h"

typedef struct
{
  char *name;
  gboolean flag;
  guint small;
  guint64 big;
  gint64 when;
  char **list;
  GPtrArray *pairs;
  GVariant *dict;
  int colour;
} Thing;

static const char *const colours[] = { "red", "green", "blue" };

static const BtRecordField thing_fields[] = {
  { "name", BT_FIELD_STRING, G_STRUCT_OFFSET (Thing, name), NULL, 0, FALSE, NULL, NULL },
  { "flag", BT_FIELD_BOOLEAN, G_STRUCT_OFFSET (Thing, flag), NULL, 0, FALSE, NULL, NULL },
  { "small", BT_FIELD_UINT32, G_STRUCT_OFFSET (Thing, small), NULL, 0, FALSE, NULL, NULL },
  { "big", BT_FIELD_UINT64, G_STRUCT_OFFSET (Thing, big), NULL, 0, FALSE, NULL, NULL },
  { "when", BT_FIELD_INT64, G_STRUCT_OFFSET (Thing, when), NULL, 0, FALSE, NULL, NULL },
  { "list", BT_FIELD_STRV, G_STRUCT_OFFSET (Thing, list), NULL, 0, FALSE, NULL, NULL },
  { "pairs", BT_FIELD_PAIRS, G_STRUCT_OFFSET (Thing, pairs), NULL, 0, FALSE, NULL, NULL },
  { "dict", BT_FIELD_VARDICT, G_STRUCT_OFFSET (Thing, dict), NULL, 0, FALSE, NULL, NULL },
  { "colour", BT_FIELD_ENUM, G_STRUCT_OFFSET (Thing, colour), colours, G_N_ELEMENTS (colours), TRUE,
    NULL, NULL },
};

static void
thing_clear (Thing *thing)
{
  g_free (thing->name);
  g_strfreev (thing->list);
  g_clear_pointer (&thing->pairs, g_ptr_array_unref);
  g_clear_pointer (&thing->dict, g_variant_unref);
}

static GVariant *
write_thing (Thing *thing)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  bt_record_write (thing_fields, G_N_ELEMENTS (thing_fields), thing, &b);
  return g_variant_ref_sink (g_variant_builder_end (&b));
}

static void
test_round_trip (void)
{
  const char *list[] = { "a", "b", NULL };
  Thing in = { 0 }, out = { 0 };
  g_autoptr (GVariant) written = NULL;
  g_autoptr (GVariant) again = NULL;
  g_autoptr (GVariantDict) dict = NULL;
  g_autoptr (GError) error = NULL;

  in.name = g_strdup ("n");
  in.flag = TRUE;
  in.small = 7;
  in.big = G_MAXUINT64;
  in.when = -5;
  in.list = g_strdupv ((char **) list);
  in.pairs = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (in.pairs, g_strdup ("X-A"));
  g_ptr_array_add (in.pairs, g_strdup ("1"));
  in.dict = g_variant_ref_sink (g_variant_new_parsed ("{'k': <'v'>}"));
  in.colour = 2;

  written = write_thing (&in);
  dict = g_variant_dict_new (written);
  g_assert_true (bt_record_read (thing_fields, G_N_ELEMENTS (thing_fields), &out, dict, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (out.name, ==, "n");
  g_assert_true (out.flag);
  g_assert_cmpuint (out.small, ==, 7);
  g_assert_cmpuint (out.big, ==, G_MAXUINT64);
  g_assert_cmpint (out.when, ==, -5);
  g_assert_cmpstrv (out.list, list);
  g_assert_cmpuint (out.pairs->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (out.pairs, 0), ==, "X-A");
  g_assert_cmpint (out.colour, ==, 2);
  again = write_thing (&out);
  g_assert_true (g_variant_equal (written, again));
  thing_clear (&in);
  thing_clear (&out);
}

/* What the disk says is not trusted: wrong types are ignored, an unknown
 * required enum makes the record invalid, absent keys keep defaults */
static void
test_hostile (void)
{
  Thing out = { 0 };
  g_autoptr (GVariant) hostile = g_variant_ref_sink (g_variant_new_parsed (
      "{'name': <5>, 'flag': <'yes'>, 'big': <uint32 3>, 'list': <[1, 2]>, 'pairs': <['x']>, "
      "'dict': <'no'>}"));
  g_autoptr (GVariant) unknown
      = g_variant_ref_sink (g_variant_new_parsed ("{'colour': <'mauve'>}"));
  g_autoptr (GVariantDict) dict = g_variant_dict_new (hostile);
  g_autoptr (GVariantDict) bad = g_variant_dict_new (unknown);
  g_autoptr (GError) error = NULL;

  out.colour = 1;
  g_assert_true (bt_record_read (thing_fields, G_N_ELEMENTS (thing_fields), &out, dict, &error));
  g_assert_null (out.name);
  g_assert_false (out.flag);
  g_assert_cmpuint (out.big, ==, 0);
  g_assert_null (out.list);
  g_assert_null (out.pairs);
  g_assert_null (out.dict);
  g_assert_cmpint (out.colour, ==, 1);
  g_assert_false (bt_record_read (thing_fields, G_N_ELEMENTS (thing_fields), &out, bad, &error));
  g_assert_error (error, g_quark_from_static_string ("bt-service-error-quark"), 1);
  thing_clear (&out);
}

/* The bytes bt_record_serialize() writes are GLib's own, in normal form */
static void
assert_same_bytes (Thing *thing)
{
  g_autoptr (GVariant) built = write_thing (thing);
  g_autoptr (GVariant) direct
      = g_variant_ref_sink (bt_record_serialize (thing_fields, G_N_ELEMENTS (thing_fields), thing));

  g_assert_true (g_variant_is_normal_form (direct));
  g_assert_cmpmem (g_variant_get_data (direct), g_variant_get_size (direct),
                   g_variant_get_data (built), g_variant_get_size (built));
}

static void
test_serialize_is_glibs (void)
{
  const char *list[] = { "a", "", "ccc", NULL };
  const char *empty[] = { NULL };
  g_autofree char *long_text = g_strnfill (300, 'x');
  g_autofree char *huge_text = g_strnfill (70000, 'y');
  Thing thing = { 0 };

  /* Nothing but the numbers */
  assert_same_bytes (&thing);

  thing.name = g_strdup ("n");
  thing.flag = TRUE;
  thing.small = 7;
  thing.big = G_MAXUINT64;
  thing.when = -5;
  thing.list = g_strdupv ((char **) list);
  thing.pairs = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (thing.pairs, g_strdup ("X-A"));
  g_ptr_array_add (thing.pairs, g_strdup ("1"));
  g_ptr_array_add (thing.pairs, g_strdup (""));
  g_ptr_array_add (thing.pairs, g_strdup ("two"));
  thing.dict = g_variant_ref_sink (g_variant_new_parsed ("{'k': <'v'>, 'n': <uint64 3>}"));
  thing.colour = 2;
  assert_same_bytes (&thing);

  /* Empty containers, and offsets of 2 and 4 bytes */
  g_strfreev (thing.list);
  thing.list = g_strdupv ((char **) empty);
  g_ptr_array_set_size (thing.pairs, 0);
  assert_same_bytes (&thing);
  g_free (thing.name);
  thing.name = g_strdup (long_text);
  g_ptr_array_add (thing.pairs, g_strdup ("Long"));
  g_ptr_array_add (thing.pairs, g_strdup (long_text));
  assert_same_bytes (&thing);
  g_free (thing.name);
  thing.name = g_strdup (huge_text);
  assert_same_bytes (&thing);
  thing_clear (&thing);
}

/* A transfer written and read back writes the same record */
static void
test_transfer_round_trip (void)
{
  g_autofree char *dir = g_dir_make_tmp ("bt-record-XXXXXX", NULL);
  g_autofree char *dest = g_build_filename (dir, "file", NULL);
  g_autofree char *part = g_strconcat (dest, ".bgtpart", NULL);
  g_autoptr (GVariant) options = NULL;
  g_autoptr (BtTransfer) transfer = NULL;
  g_autoptr (BtTransfer) restored = NULL;
  g_autoptr (GVariant) first = NULL;
  g_autoptr (GVariant) second = NULL;
  g_autofree char *printed = NULL;
  g_autoptr (GError) error = NULL;

  options = g_variant_ref_sink (g_variant_new_parsed (
      "{'destination': <%s>, 'priority': <'high'>, 'cost-policy': <'always'>, 'group': <'g'>, "
      "'tag': <'t'>, 'headers': <[('X-A', '1'), ('Cookie', 's3cr3t-value')]>, 'if-changed': "
      "<'fail'>, "
      "'checksum': <%s>, 'mirrors': <['https://mirror.example/f']>, "
      "'max-rate': <uint64 1000>, 'notify': <{'success-title': <'ok'>}>, 'start': <false>, "
      "'connections': <uint32 4>, 'random-access': <true>}",
      dest, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
  transfer = bt_transfer_new_download ("abc", "org.example.App", 3, "https://example.org/f",
                                       options, NULL, FALSE, &error);
  g_assert_no_error (error);
  g_assert_nonnull (transfer);
  first = g_variant_ref_sink (bt_transfer_serialize (transfer));
  /* Secret header values never reach the record */
  printed = g_variant_print (first, FALSE);
  g_test_message ("%s", printed);
  g_assert_null (strstr (printed, "s3cr3t"));

  /* Written directly (bt_record_serialize()), the bytes GLib would write */
  g_assert_true (g_variant_is_normal_form (first));
  restored = bt_transfer_new_from_record ("abc", "org.example.App", 3, first);
  g_assert_nonnull (restored);
  second = g_variant_ref_sink (bt_transfer_serialize (restored));
  if (!g_variant_equal (first, second))
    g_error ("%s\n!=\n%s", g_variant_print (first, TRUE), g_variant_print (second, TRUE));

  g_unlink (part);
  g_rmdir (dir);
}

/* A paused download restored from @record, its partial file @size bytes long */
static BtTransfer *
restore_paused (GVariant *record, const char *part, gsize size)
{
  g_autofree char *data = g_malloc0 (size);

  g_assert_true (g_file_set_contents (part, data, (gssize) size, NULL));
  return bt_transfer_new_from_record ("abc", "org.example.App", 3, record);
}

static char *
describe_ranges (BtTransfer *transfer)
{
  return g_variant_print (bt_range_set_to_variant (bt_transfer_get_ranges (transfer)), FALSE);
}

/* The checkpoint of a segmented download is its ranges; a record without
 * them (older, or written in order) resumes from "bytes" */
static void
test_transfer_ranges (void)
{
  g_autofree char *dir = g_dir_make_tmp ("bt-record-XXXXXX", NULL);
  g_autofree char *dest = g_build_filename (dir, "file", NULL);
  g_autofree char *part = g_strconcat (dest, ".bgtpart", NULL);
  g_autoptr (GVariant) options = g_variant_ref_sink (
      g_variant_new_parsed ("{'destination': <%s>, 'connections': <uint32 4>}", dest));
  g_autoptr (GError) error = NULL;
  g_autoptr (BtTransfer) transfer = bt_transfer_new_download (
      "abc", "org.example.App", 3, "https://example.org/f", options, NULL, FALSE, &error);
  g_autoptr (GVariant) base = NULL;
  struct
  {
    const char *boot;
    gboolean ranges;
    gsize file;
    const char *expected;
  } cases[] = {
    /* The same boot: the ranges recorded, as far as the file goes */
    { NULL, TRUE, 200, "[(0, 10), (100, 50)]" },
    { NULL, TRUE, 120, "[(0, 10), (100, 20)]" },
    /* After a reboot: those flushed */
    { "another-boot", TRUE, 200, "[(0, 10)]" },
    /* An older record: written in order, the file's length counts within
     * the same boot, the bytes flushed after a reboot */
    { NULL, FALSE, 200, "[(0, 200)]" },
    { "another-boot", FALSE, 200, "[(0, 30)]" },
  };

  g_assert_no_error (error);
  base = g_variant_ref_sink (bt_transfer_serialize (transfer));
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GVariantDict) dict = g_variant_dict_new (base);
      g_autoptr (GVariant) record = NULL;
      g_autoptr (BtTransfer) restored = NULL;
      g_autofree char *got = NULL;

      g_variant_dict_insert (dict, "status", "s", "paused-by-application");
      g_variant_dict_insert (dict, "total", "t", (guint64) 200);
      g_variant_dict_insert (dict, "bytes", "t", (guint64) (cases[i].ranges ? 10 : 30));
      g_variant_dict_insert (dict, "synced-bytes", "t", (guint64) 30);
      if (cases[i].boot != NULL)
        g_variant_dict_insert (dict, "boot-id", "s", cases[i].boot);
      if (cases[i].ranges)
        {
          g_variant_dict_insert_value (dict, "ranges",
                                       g_variant_new_parsed ("[(@t 100, @t 50), (0, 10)]"));
          g_variant_dict_insert_value (dict, "synced-ranges",
                                       g_variant_new_parsed ("[(@t 0, @t 10)]"));
        }
      record = g_variant_ref_sink (g_variant_dict_end (dict));
      restored = restore_paused (record, part, cases[i].file);
      g_assert_nonnull (restored);
      got = describe_ranges (restored);
      g_test_message ("case %" G_GSIZE_FORMAT ": %s", i, got);
      g_assert_cmpstr (got, ==, cases[i].expected);
      g_assert_cmpuint (bt_transfer_get_bytes_received (restored), ==,
                        bt_range_set_get_total (bt_transfer_get_ranges (restored)));
      if (cases[i].ranges && cases[i].boot == NULL && cases[i].file == 200)
        {
          /* Written back, the same checkpoint */
          g_autoptr (GVariant) again = g_variant_ref_sink (bt_transfer_serialize (restored));
          g_autoptr (GVariant) ranges = g_variant_lookup_value (again, "ranges", NULL);
          g_autofree char *text = g_variant_print (ranges, FALSE);

          g_assert_cmpstr (text, ==, "[(0, 10), (100, 50)]");
        }
    }
  g_unlink (part);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/record/round-trip", test_round_trip);
  g_test_add_func ("/record/hostile", test_hostile);
  g_test_add_func ("/record/serialize-is-glibs", test_serialize_is_glibs);
  g_test_add_func ("/record/transfer-round-trip", test_transfer_round_trip);
  g_test_add_func ("/record/transfer-ranges", test_transfer_ranges);
  return g_test_run ();
}
