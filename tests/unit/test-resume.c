/* Unit tests of the resume decision table (docs/contract.md "Persistence and resuming")
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "bt-resume.h"

#define U BT_SIZE_UNKNOWN

static void
test_content_range_parse (void)
{
  static const struct
  {
    const char *value;
    gboolean ok;
    guint64 first, last, complete;
  } cases[] = {
    { "bytes 0-99/100", TRUE, 0, 99, 100 },
    { "bytes 100-199/1000", TRUE, 100, 199, 1000 },
    { "bytes 5-9/*", TRUE, 5, 9, U },
    { "bytes */1000", TRUE, U, U, 1000 },
    { "BYTES 0-0/1", TRUE, 0, 0, 1 },
    { "bytes 10-5/100", FALSE },  /* last < first */
    { "bytes 0-100/100", FALSE }, /* last ≥ complete */
    { "items 0-9/10", FALSE },    /* wrong unit */
    { "bytes 0-9", FALSE },       /* no complete length */
    { "bytes */*", FALSE },
    { "bytes -1-9/10", FALSE }, /* negative */
    { "bytes 0-9/10 trailing", FALSE },
    { "bytes 0-99999999999999999999/1", FALSE }, /* overflow */
    { "", FALSE },
    { NULL, FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      guint64 first = 42, last = 42, complete = 42;
      gboolean ok = bt_parse_content_range (cases[i].value, &first, &last, &complete);

      g_test_message ("Content-Range: %s", cases[i].value);
      g_assert_cmpint (ok, ==, cases[i].ok);
      if (ok)
        {
          g_assert_cmpuint (first, ==, cases[i].first);
          g_assert_cmpuint (last, ==, cases[i].last);
          g_assert_cmpuint (complete, ==, cases[i].complete);
        }
    }
}

static void
test_etag_strength (void)
{
  g_assert_true (bt_etag_is_strong ("\"abc\""));
  g_assert_true (bt_etag_is_strong ("\"\""));
  g_assert_false (bt_etag_is_strong ("W/\"abc\""));
  g_assert_false (bt_etag_is_strong ("abc"));
  g_assert_false (bt_etag_is_strong ("\""));
  g_assert_false (bt_etag_is_strong (NULL));
}

typedef struct
{
  const char *name;
  guint64 offset;
  guint64 known_total;
  gboolean changed;
  gboolean strict;
  guint status;
  const char *content_range;
  gint64 content_length;
  BtResumeAction action;
  guint64 out_offset;
  guint64 out_total;
  gboolean ranged; /* a segment: a Range even from 0 */
} DecisionCase;

static const DecisionCase decisions[] = {
  /* fresh requests */
  { "200 fresh", 0, U, FALSE, FALSE, 200, NULL, 1000, BT_RESUME_WRITE, 0, 1000 },
  { "200 fresh, no length", 0, U, FALSE, FALSE, 200, NULL, -1, BT_RESUME_WRITE, 0, U },
  { "206 never asked for", 0, U, FALSE, FALSE, 206, "bytes 0-9/10", 10, BT_RESUME_PROTOCOL_ERROR },
  { "416 never asked for", 0, U, FALSE, FALSE, 416, "bytes */10", 0, BT_RESUME_PROTOCOL_ERROR },
  /* good resume */
  { "206 exact", 100, 1000, FALSE, FALSE, 206, "bytes 100-999/1000", 900, BT_RESUME_WRITE, 100,
    1000 },
  { "206 exact, total learnt now", 100, U, FALSE, FALSE, 206, "bytes 100-999/1000", 900,
    BT_RESUME_WRITE, 100, 1000 },
  { "206 unknown complete", 100, 1000, FALSE, FALSE, 206, "bytes 100-999/*", -1, BT_RESUME_WRITE,
    100, 1000 },
  /* server ignored the range or the validator no longer matched */
  { "200 to a range", 100, 1000, FALSE, FALSE, 200, NULL, 1000, BT_RESUME_RESTART, 0, 1000 },
  { "200 changed, restart", 100, 1000, TRUE, FALSE, 200, NULL, 1200, BT_RESUME_RESTART, 0, 1200 },
  { "200 changed, strict", 100, 1000, TRUE, TRUE, 200, NULL, 1200, BT_RESUME_CHANGED },
  /* bad partial responses: never recombine */
  { "206 wrong offset", 100, 1000, FALSE, FALSE, 206, "bytes 0-999/1000", 1000, BT_RESUME_RESTART },
  { "206 later offset", 100, 1000, FALSE, FALSE, 206, "bytes 200-999/1000", 800,
    BT_RESUME_RESTART },
  { "206 invalid range", 100, 1000, FALSE, FALSE, 206, "bytes 999-100/1000", -1,
    BT_RESUME_RESTART },
  { "206 missing range", 100, 1000, FALSE, FALSE, 206, NULL, -1, BT_RESUME_RESTART },
  { "206 items unit", 100, 1000, FALSE, FALSE, 206, "items 100-999/1000", -1, BT_RESUME_RESTART },
  { "206 star range", 100, 1000, FALSE, FALSE, 206, "bytes */1000", -1, BT_RESUME_RESTART },
  { "206 other total", 100, 1000, FALSE, FALSE, 206, "bytes 100-1999/2000", 1900,
    BT_RESUME_RESTART },
  { "206 other total, strict", 100, 1000, FALSE, TRUE, 206, "bytes 100-1999/2000", 1900,
    BT_RESUME_CHANGED },
  { "206 changed validator", 100, 1000, TRUE, FALSE, 206, "bytes 100-999/1000", 900,
    BT_RESUME_RESTART },
  { "206 changed validator, strict", 100, 1000, TRUE, TRUE, 206, "bytes 100-999/1000", 900,
    BT_RESUME_CHANGED },
  { "206 length disagrees", 100, 1000, FALSE, FALSE, 206, "bytes 100-999/1000", 50,
    BT_RESUME_PROTOCOL_ERROR },
  /* 416 on resume */
  { "416 complete", 1000, 1000, FALSE, FALSE, 416, "bytes */1000", 0, BT_RESUME_COMPLETE, 1000,
    1000 },
  { "416 complete, size unknown before", 1000, U, FALSE, FALSE, 416, "bytes */1000", 0,
    BT_RESUME_COMPLETE, 1000, 1000 },
  { "416 local shorter", 500, 1000, FALSE, FALSE, 416, "bytes */1000", 0, BT_RESUME_RESTART },
  { "416 other size", 1000, 1000, FALSE, FALSE, 416, "bytes */2000", 0, BT_RESUME_RESTART },
  { "416 no range", 1000, 1000, FALSE, FALSE, 416, NULL, 0, BT_RESUME_RESTART },
  /* segments ask for a range even from 0 */
  { "segment 206 from zero", 0, U, FALSE, FALSE, 206, "bytes 0-249/1000", 250, BT_RESUME_WRITE, 0,
    1000, TRUE },
  { "segment 206 bounded", 250, 1000, FALSE, FALSE, 206, "bytes 250-499/1000", 250, BT_RESUME_WRITE,
    250, 1000, TRUE },
  { "segment 206 elsewhere", 250, 1000, FALSE, FALSE, 206, "bytes 0-249/1000", 250,
    BT_RESUME_RESTART, 0, 0, TRUE },
  { "segment 200 from zero, same version", 0, 1000, FALSE, FALSE, 200, NULL, 1000, BT_RESUME_WRITE,
    0, 1000, TRUE },
  { "segment 200 from zero, changed", 0, 1000, TRUE, FALSE, 200, NULL, 1000, BT_RESUME_RESTART, 0,
    1000, TRUE },
  { "segment 200 from zero, changed, strict", 0, 1000, TRUE, TRUE, 200, NULL, 1000,
    BT_RESUME_CHANGED, 0, 0, TRUE },
  { "segment 200 later", 250, 1000, FALSE, FALSE, 200, NULL, 1000, BT_RESUME_RESTART, 0, 1000,
    TRUE },
  { "segment 416 of an empty file", 0, U, FALSE, FALSE, 416, "bytes */0", 0, BT_RESUME_COMPLETE, 0,
    0, TRUE },
  /* anything else makes no sense here */
  { "304", 100, 1000, FALSE, FALSE, 304, NULL, -1, BT_RESUME_PROTOCOL_ERROR },
};

static void
test_decision (gconstpointer data)
{
  const DecisionCase *c = data;
  BtResumeRequest request = { c->offset, c->known_total, c->changed, c->strict, c->ranged };
  guint64 offset = 42, total = 42;
  BtResumeAction action;

  action = bt_resume_decide (&request, c->status, c->content_range, c->content_length, &offset,
                             &total);
  g_assert_cmpint (action, ==, c->action);
  if (action == BT_RESUME_WRITE || action == BT_RESUME_COMPLETE || action == BT_RESUME_RESTART)
    {
      g_assert_cmpuint (offset, ==, c->out_offset);
      if (action != BT_RESUME_RESTART || c->status == 200)
        g_assert_cmpuint (total, ==, c->out_total);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/resume/content-range", test_content_range_parse);
  g_test_add_func ("/resume/etag-strength", test_etag_strength);
  for (gsize i = 0; i < G_N_ELEMENTS (decisions); i++)
    {
      g_autofree char *path = g_strdup_printf ("/resume/decision/%s", decisions[i].name);

      g_test_add_data_func (path, &decisions[i], test_decision);
    }

  return g_test_run ();
}
