/* Unit tests of the token-bucket rate limiter
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "bt-rate.h"

/* Reads of @chunk bytes, each waiting what the limiter says: the
 * effective rate over 10 s of simulated time stays within 5 % */
static void
check_rate (guint64 rate, gsize chunk)
{
  g_autoptr (BtRateLimiter) limiter = bt_rate_limiter_new (rate);
  gint64 start = 1000000, now = start;
  guint64 total = 0;
  double effective;

  while (now - start < 10 * G_USEC_PER_SEC)
    {
      gint64 wait = bt_rate_limiter_take (limiter, chunk, now);

      total += chunk;
      /* timers fire on whole milliseconds, a little late */
      now += wait > 0 ? (wait / 1000 + 1) * 1000 : 100;
    }
  effective = (double) total / ((double) (now - start) / G_USEC_PER_SEC);
  g_test_message ("rate %" G_GUINT64_FORMAT ", chunk %" G_GSIZE_FORMAT ": %.0f", rate, chunk,
                  effective);
  g_assert_cmpfloat (effective, <=, rate * 1.05);
  g_assert_cmpfloat (effective, >=, rate * 0.95);
}

static void
test_rates (void)
{
  check_rate (10 * 1000 * 1000, 1024 * 1024);
  check_rate (10 * 1000 * 1000, 16 * 1024);
  check_rate (100 * 1000, 16 * 1024);
  check_rate (50 * 1000 * 1000, 1024 * 1024);
}

static void
test_unlimited (void)
{
  g_autoptr (BtRateLimiter) limiter = bt_rate_limiter_new (0);

  g_assert_cmpint (bt_rate_limiter_take (limiter, G_MAXUINT32, 1), ==, 0);
  g_assert_cmpint (bt_rate_limiter_take (NULL, G_MAXUINT32, 1), ==, 0);
  g_assert_cmpuint (bt_rate_limiter_chunk (limiter, 4096), ==, 4096);
  g_assert_cmpuint (bt_rate_limiter_chunk (NULL, 4096), ==, 4096);
}

static void
test_chunk (void)
{
  g_autoptr (BtRateLimiter) limiter = bt_rate_limiter_new (80 * 1024);

  /* small reads under a low limit keep the rate smooth */
  g_assert_cmpuint (bt_rate_limiter_chunk (limiter, 1024 * 1024), ==, 16 * 1024);
  bt_rate_limiter_set_rate (limiter, 80 * 1024 * 1024);
  g_assert_cmpuint (bt_rate_limiter_chunk (limiter, 1024 * 1024), ==, 1024 * 1024);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/rate/effective-rates", test_rates);
  g_test_add_func ("/rate/unlimited", test_unlimited);
  g_test_add_func ("/rate/chunk", test_chunk);

  return g_test_run ();
}
