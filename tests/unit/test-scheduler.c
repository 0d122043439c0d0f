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

#define MIB (G_GUINT64_CONSTANT (1) << 20)
#define UNKNOWN G_MAXUINT64

/* An entry with a size: @left bytes to move at @rate bytes/s (0: unknown) */
static BtQueueEntry
sized (BtPriority priority, guint64 seq, const char *host, guint64 left, guint64 rate,
       gboolean may_yield)
{
  BtQueueEntry entry
      = { priority, seq, host, 1, TRUE, GUINT_TO_POINTER (seq), left, rate, may_yield };

  return entry;
}

static void
test_big_is_known_big (void)
{
  BtQueueEntry unknown = sized (BT_PRIORITY_DEFAULT, 1, "a", UNKNOWN, 0, TRUE);
  BtQueueEntry small = sized (BT_PRIORITY_DEFAULT, 1, "a", 16 * 1024, 0, TRUE);
  BtQueueEntry big = sized (BT_PRIORITY_DEFAULT, 1, "a", 100 * MIB, 0, TRUE);
  BtQueueEntry big_slow = sized (BT_PRIORITY_DEFAULT, 1, "a", 100 * MIB, MIB, TRUE);
  BtQueueEntry big_fast = sized (BT_PRIORITY_DEFAULT, 1, "a", 100 * MIB, 1024 * MIB, TRUE);

  g_assert_false (bt_scheduler_is_big (&unknown));
  g_assert_false (bt_scheduler_is_big (&small));
  /* Many bytes left: big, unless its rate says it ends in a moment */
  g_assert_true (bt_scheduler_is_big (&big));
  g_assert_true (bt_scheduler_is_big (&big_slow));
  g_assert_false (bt_scheduler_is_big (&big_fast));
}

/* Among equal priorities the small and the unknown go before the big,
 * each in creation order; priority still comes first */
static void
test_small_before_big (void)
{
  BtQueueEntry entries[] = {
    sized (BT_PRIORITY_DEFAULT, 1, "a", 100 * MIB, 0, TRUE),
    sized (BT_PRIORITY_DEFAULT, 2, "a", UNKNOWN, 0, TRUE),
    sized (BT_PRIORITY_DEFAULT, 3, "a", 50 * MIB, 0, TRUE),
    sized (BT_PRIORITY_DEFAULT, 4, "a", 1024, 0, TRUE),
    sized (BT_PRIORITY_HIGH, 5, "a", 100 * MIB, 0, TRUE),
    sized (BT_PRIORITY_LOW, 6, "a", 1024, 0, TRUE),
  };
  g_autoptr (GHashTable) load = load_table ();
  g_autofree char *all = pick (entries, G_N_ELEMENTS (entries), 0, 10, load, 10);
  g_autofree char *two = NULL;

  g_assert_cmpstr (all, ==, "5 2 4 1 3 6");
  g_hash_table_remove_all (load);
  two = pick (entries, G_N_ELEMENTS (entries), 0, 2, load, 10);
  g_assert_cmpstr (two, ==, "5 2");
}

/* The seq of the entry that yields, or 0 */
static guint64
yield_seq (BtQueueEntry *waiting, guint n_waiting, BtQueueEntry *running, guint n_running,
           guint max_running, GHashTable *load, guint max_per_host)
{
  BtQueueEntry *chosen = bt_scheduler_pick_yield (waiting, n_waiting, running, n_running,
                                                  max_running, load, max_per_host);

  return chosen != NULL ? chosen->seq : 0;
}

/* Every slot held by a big transfer and a small one waits: the big one
 * with the most left yields, once nothing else frees a slot soon */
static void
test_big_yields_to_small (void)
{
  BtQueueEntry running[] = {
    sized (BT_PRIORITY_DEFAULT, 1, "a", 30 * MIB, MIB, TRUE),
    sized (BT_PRIORITY_DEFAULT, 2, "a", 90 * MIB, MIB, TRUE),
    sized (BT_PRIORITY_DEFAULT, 3, "b", 60 * MIB, MIB, TRUE),
    sized (BT_PRIORITY_DEFAULT, 4, "c", 90 * MIB, MIB, TRUE),
  };
  BtQueueEntry small[] = { sized (BT_PRIORITY_DEFAULT, 9, "a", UNKNOWN, 0, TRUE) };
  BtQueueEntry big[] = { sized (BT_PRIORITY_DEFAULT, 9, "a", 20 * MIB, 0, TRUE) };
  g_autoptr (GHashTable) load = load_table ();

  g_hash_table_insert (load, g_strdup ("a"), GUINT_TO_POINTER (2));
  g_hash_table_insert (load, g_strdup ("b"), GUINT_TO_POINTER (1));
  g_hash_table_insert (load, g_strdup ("c"), GUINT_TO_POINTER (1));
  /* The most left; of two alike, the newer */
  g_assert_cmpuint (yield_seq (small, 1, running, 4, 4, load, 6), ==, 4);
  /* A big one waiting makes nothing yield */
  g_assert_cmpuint (yield_seq (big, 1, running, 4, 4, load, 6), ==, 0);
  /* A free slot: nothing to yield */
  g_assert_cmpuint (yield_seq (small, 1, running, 4, 5, load, 6), ==, 0);
  /* Its turn not come (a serialized group): nothing */
  small[0].its_turn = FALSE;
  g_assert_cmpuint (yield_seq (small, 1, running, 4, 4, load, 6), ==, 0);
}

/* No yield while a running transfer is not big (it ends soon), nor by a
 * transfer that cannot resume, nor one of higher priority */
static void
test_no_needless_yield (void)
{
  BtQueueEntry ending[] = {
    sized (BT_PRIORITY_DEFAULT, 1, "a", 90 * MIB, MIB, TRUE),
    sized (BT_PRIORITY_DEFAULT, 2, "a", 2 * MIB, MIB, TRUE),
  };
  BtQueueEntry fast[] = {
    sized (BT_PRIORITY_DEFAULT, 1, "a", 90 * MIB, MIB, TRUE),
    sized (BT_PRIORITY_DEFAULT, 2, "a", 90 * MIB, 1024 * MIB, TRUE),
  };
  BtQueueEntry stuck[] = {
    sized (BT_PRIORITY_DEFAULT, 1, "a", 90 * MIB, MIB, FALSE),
    sized (BT_PRIORITY_HIGH, 2, "a", 90 * MIB, MIB, TRUE),
  };
  BtQueueEntry small[] = { sized (BT_PRIORITY_DEFAULT, 9, "a", 4096, 0, TRUE) };
  g_autoptr (GHashTable) load = load_table ();

  g_hash_table_insert (load, g_strdup ("a"), GUINT_TO_POINTER (2));
  g_assert_cmpuint (yield_seq (small, 1, ending, 2, 2, load, 6), ==, 0);
  g_assert_cmpuint (yield_seq (small, 1, fast, 2, 2, load, 6), ==, 0);
  g_assert_cmpuint (yield_seq (small, 1, stuck, 2, 2, load, 6), ==, 0);
}

/* Waiting for its host's connections, not a global slot: only a big
 * transfer to that host yields */
static void
test_yield_per_host (void)
{
  BtQueueEntry running[] = {
    sized (BT_PRIORITY_DEFAULT, 1, "a", 40 * MIB, MIB, TRUE),
    sized (BT_PRIORITY_DEFAULT, 2, "a", 30 * MIB, MIB, TRUE),
    sized (BT_PRIORITY_DEFAULT, 3, "b", 900 * MIB, MIB, TRUE),
    sized (BT_PRIORITY_DEFAULT, 4, "c", 1024, MIB, TRUE),
  };
  BtQueueEntry small[] = { sized (BT_PRIORITY_DEFAULT, 9, "a", UNKNOWN, 0, TRUE) };
  BtQueueEntry elsewhere[] = { sized (BT_PRIORITY_DEFAULT, 9, "d", UNKNOWN, 0, TRUE) };
  g_autoptr (GHashTable) load = load_table ();

  g_hash_table_insert (load, g_strdup ("a"), GUINT_TO_POINTER (2));
  g_hash_table_insert (load, g_strdup ("b"), GUINT_TO_POINTER (1));
  g_hash_table_insert (load, g_strdup ("c"), GUINT_TO_POINTER (1));
  /* Slots to spare (10), host "a" full (2): the bigger of "a"'s yields */
  g_assert_cmpuint (yield_seq (small, 1, running, 4, 10, load, 2), ==, 1);
  /* All slots taken (4), one of them ends soon ("c"): nothing */
  g_assert_cmpuint (yield_seq (elsewhere, 1, running, 4, 4, load, 2), ==, 0);
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
  g_test_add_func ("/scheduler/big-is-known-big", test_big_is_known_big);
  g_test_add_func ("/scheduler/small-before-big", test_small_before_big);
  g_test_add_func ("/scheduler/big-yields-to-small", test_big_yields_to_small);
  g_test_add_func ("/scheduler/no-needless-yield", test_no_needless_yield);
  g_test_add_func ("/scheduler/yield-per-host", test_yield_per_host);
  return g_test_run ();
}
