/* Unit tests of the scheduler's decision
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "bt-scheduler.h"

#define E(prio, seq, host, conns, turn)                                                            \
  {                                                                                                \
    BT_PRIORITY_##prio, seq, host, conns, turn, GUINT_TO_POINTER (seq)                             \
  }

static GHashTable *
load_table (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

/* The seqs picked, in order, as "1 2 3" */
static char *
pick (BtQueueEntry *entries, guint n, guint running, guint max_running, GHashTable *load,
      guint max_per_host)
{
  g_autoptr (GPtrArray) picked
      = bt_scheduler_pick (entries, n, running, max_running, load, max_per_host);
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < picked->len; i++)
    g_string_append_printf (out, "%s%" G_GUINT64_FORMAT, i > 0 ? " " : "",
                            ((BtQueueEntry *) g_ptr_array_index (picked, i))->seq);
  return g_string_free (out, FALSE);
}

/* Nothing to start: no entries at all (the queue of an idle service) */
static void
test_empty (void)
{
  g_autoptr (GHashTable) load = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GPtrArray) picked = bt_scheduler_pick (NULL, 0, 0, 4, load, 6);

  g_assert_cmpuint (picked->len, ==, 0);
}

static void
test_order (void)
{
  BtQueueEntry entries[] = {
    E (LOW, 1, "a", 1, TRUE),     E (DEFAULT, 2, "a", 1, TRUE), E (HIGH, 3, "a", 1, TRUE),
    E (DEFAULT, 4, "b", 1, TRUE), E (HIGH, 5, "c", 1, TRUE),
  };
  g_autoptr (GHashTable) load = load_table ();
  g_autofree char *all = pick (entries, G_N_ELEMENTS (entries), 0, 10, load, 10);

  /* Priority first, then creation order */
  g_assert_cmpstr (all, ==, "3 5 2 4 1");
}

static void
test_global_limit (void)
{
  BtQueueEntry entries[] = {
    E (DEFAULT, 1, "a", 1, TRUE),
    E (DEFAULT, 2, "b", 1, TRUE),
    E (DEFAULT, 3, "c", 1, TRUE),
  };
  g_autoptr (GHashTable) load = load_table ();
  g_autofree char *one = pick (entries, G_N_ELEMENTS (entries), 3, 4, load, 6);
  g_autofree char *none = NULL;

  g_assert_cmpstr (one, ==, "1");
  g_hash_table_remove_all (load);
  none = pick (entries, G_N_ELEMENTS (entries), 4, 4, load, 6);
  g_assert_cmpstr (none, ==, "");
}

static void
test_per_host (void)
{
  BtQueueEntry entries[] = {
    E (HIGH, 1, "a", 1, TRUE),
    E (HIGH, 2, "a", 1, TRUE),
    E (HIGH, 3, "a", 1, TRUE),
    E (LOW, 4, "b", 1, TRUE),
  };
  BtQueueEntry ftp[] = {
    E (DEFAULT, 1, "f", 2, TRUE),
    E (DEFAULT, 2, "f", 2, TRUE),
    E (DEFAULT, 3, "f", 2, TRUE),
  };
  BtQueueEntry big[] = { E (DEFAULT, 1, "g", 8, TRUE) };
  g_autoptr (GHashTable) load = load_table ();
  g_autofree char *some = NULL;
  g_autofree char *ftps = NULL;
  g_autofree char *alone = NULL;

  /* One connection to "a" is open already: two more fit under 3; the
   * transfer behind the full host is not held back */
  g_hash_table_insert (load, g_strdup ("a"), GUINT_TO_POINTER (1));
  some = pick (entries, G_N_ELEMENTS (entries), 1, 10, load, 3);
  g_assert_cmpstr (some, ==, "1 2 4");
  g_assert_cmpuint (GPOINTER_TO_UINT (g_hash_table_lookup (load, "a")), ==, 3);

  /* FTP opens two connections per transfer */
  g_hash_table_remove_all (load);
  ftps = pick (ftp, G_N_ELEMENTS (ftp), 0, 10, load, 5);
  g_assert_cmpstr (ftps, ==, "1 2");

  /* More than the limit by itself: it runs, alone */
  g_hash_table_remove_all (load);
  alone = pick (big, G_N_ELEMENTS (big), 0, 10, load, 6);
  g_assert_cmpstr (alone, ==, "1");
}

static void
test_serialized_turn (void)
{
  BtQueueEntry entries[] = {
    E (HIGH, 1, "a", 1, FALSE),
    E (DEFAULT, 2, "a", 1, TRUE),
  };
  g_autoptr (GHashTable) load = load_table ();
  g_autofree char *picked = pick (entries, G_N_ELEMENTS (entries), 0, 1, load, 6);

  /* Not its turn: it neither starts nor takes the only slot */
  g_assert_cmpstr (picked, ==, "2");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/scheduler/empty", test_empty);
  g_test_add_func ("/scheduler/order", test_order);
  g_test_add_func ("/scheduler/global-limit", test_global_limit);
  g_test_add_func ("/scheduler/per-host", test_per_host);
  g_test_add_func ("/scheduler/serialized-turn", test_serialized_turn);
  return g_test_run ();
}
