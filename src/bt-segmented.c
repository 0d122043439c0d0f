/* bt-segmented.c: the connections of a segmented download
 *
 * A segmented download is the same engine many times (bt-engine.h): its
 * attempt runs connections, each an attempt of its own that fetches one
 * segment [pos, end) with a Range and writes it at its offset
 * (bt-attempt.c), under the download's rate limits, checkpoints and
 * policy. This file decides who fetches what; the choice itself is the
 * pure bt-segments.c.
 *
 *  - The first connection asks for "bytes=N-" from the first byte missing.
 *    Only a 206 with a strong validator (ETag) and a known size splits the
 *    download (docs/contract.md); anything else leaves one connection, silently.
 *  - Then connections join up to the number asked for, each taking half of
 *    the largest segment left, and a connection done with its segment
 *    takes the next work (aria2's work stealing), so that no connection
 *    idles while bytes remain. Each counts against its host's
 *    max-connections-per-host; more join when a host has room again.
 *  - Every answer is judged like a resume's by the engine: a 200 or a
 *    changed validator restarts the whole download (with if-changed=fail,
 *    it ends in resource-changed); after a 200 one connection fetches the
 *    rest of the attempt.
 *  - Mirrors feed segments too, once the first URI has split: a mirror's
 *    answer must agree on the size and the strong validator (or on the
 *    size alone when the app gave a checksum); a mirror that fails or
 *    disagrees is dropped for the attempt and logged, its segment fetched
 *    by another connection. A checksum that fails on data that mirrors
 *    brought makes the download start over from the first URI alone.
 *  - What the app asks for first (RequestRange) is served first: a free
 *    connection goes there, or, when none is free, the connection that
 *    would reach it last jumps there (bt_segments_redirect()).
 *  - A transient failure of a connection to the first URI hands its
 *    segment to the others (and a new connection replaces it, a bounded
 *    number of times); the last one's failure, or a permanent one, ends
 *    the attempt, and the transfer's retries resume from the ranges on
 *    disk.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "bt-settings.h"
#include "bt-attempt.h"
#include "bt-names.h"
#include "bt-segmented.h"
#include "bt-segments.h"

/* A connection this close before a wanted byte brings it soon enough */
#define NEAR_BYTES (G_GUINT64_CONSTANT (1) << 20)
/* The smallest half worth a connection of its own */
#define MIN_SPLIT_BYTES (G_GUINT64_CONSTANT (1) << 20)

typedef struct
{
  char *uri;
  char *host; /* lower case, for max-connections-per-host */
  gboolean mirror;
  gboolean agreed;  /* answered a range that matched */
  gboolean dropped; /* for the rest of the attempt */
} Source;

typedef struct
{
  BtAttempt *attempt; /* a reference */
  Source *source;
} Connection;

struct _BtSegmented
{
  BtAttempt *attempt;   /* the download's: it owns us */
  BtTransfer *transfer; /* not a reference: the attempt holds one */
  guint wanted;
  GPtrArray *sources;     /* Source: the URI fetched from now, then the mirrors after it */
  GPtrArray *connections; /* Connection */
  gboolean split;         /* the first URI answered a range with a strong validator and a size */
  gboolean single;        /* …or a 200 to a range: one connection for the rest of the attempt */
  gboolean mirror_data;   /* a mirror's data went into the file */
  gboolean stopped;
  guint failures; /* transient failures of the first URI's connections */
  guint direct_id;
};

static void
source_free (Source *source)
{
  g_free (source->uri);
  g_free (source->host);
  g_free (source);
}

static void
connection_free (Connection *c)
{
  bt_attempt_unref (c->attempt);
  g_free (c);
}

static Source *
source_new (BtKind kind, const char *uri, gboolean mirror)
{
  BtScheme scheme;
  g_autoptr (GUri) parsed = bt_validate_uri (uri, &scheme, NULL);
  const BtEngineVTable *engine = parsed != NULL ? bt_engine_lookup (kind, scheme) : NULL;
  Source *source;

  /* Only an engine that fetches parts can run segments */
  if (engine == NULL || !engine->segments || g_uri_get_host (parsed) == NULL)
    return NULL;
  source = g_new0 (Source, 1);
  source->uri = g_strdup (uri);
  source->host = g_ascii_strdown (g_uri_get_host (parsed), -1);
  source->mirror = mirror;
  return source;
}

/*
 * bt_segmented_new:
 * @attempt: the download's attempt
 * @wanted: how many connections at most
 *
 * Returns: (transfer full): the coordinator of @attempt's connections
 */
BtSegmented *
bt_segmented_new (BtAttempt *attempt, guint wanted)
{
  BtSegmented *self = g_new0 (BtSegmented, 1);
  BtTransfer *transfer = bt_attempt_get_transfer (attempt);
  const char *current = bt_transfer_get_current_uri (transfer);
  GStrv mirrors = bt_transfer_get_mirrors (transfer);
  Source *main_source = g_new0 (Source, 1);
  g_autoptr (GUri) parsed = g_uri_parse (current, G_URI_FLAGS_ENCODED, NULL);

  self->attempt = attempt;
  self->transfer = transfer;
  self->wanted = MAX (wanted, 1);
  self->sources = g_ptr_array_new_with_free_func ((GDestroyNotify) source_free);
  self->connections = g_ptr_array_new_with_free_func ((GDestroyNotify) connection_free);

  main_source->uri = g_strdup (current);
  main_source->host = parsed != NULL && g_uri_get_host (parsed) != NULL
                          ? g_ascii_strdown (g_uri_get_host (parsed), -1)
                          : g_strdup ("");
  g_ptr_array_add (self->sources, main_source);
  /* The mirrors not tried yet (those before failed as the first URI) */
  for (guint i = bt_transfer_get_uri_index (transfer); wanted > 1 && mirrors != NULL && mirrors[i];
       i++)
    {
      Source *source = g_str_equal (mirrors[i], current)
                           ? NULL
                           : source_new (bt_transfer_get_kind (transfer), mirrors[i], TRUE);

      if (source != NULL)
        g_ptr_array_add (self->sources, source);
    }
  return self;
}

static void
stop_connections (BtSegmented *self)
{
  while (self->connections->len > 0)
    {
      Connection *c = g_ptr_array_steal_index (self->connections, self->connections->len - 1);

      bt_attempt_stop (c->attempt);
      connection_free (c);
    }
}

/* Every connection stops; nothing is reported any more */
void
bt_segmented_stop (BtSegmented *self)
{
  self->stopped = TRUE;
  g_clear_handle_id (&self->direct_id, g_source_remove);
  stop_connections (self);
}

void
bt_segmented_free (BtSegmented *self)
{
  if (self == NULL)
    return;
  bt_segmented_stop (self);
  g_ptr_array_unref (self->connections);
  g_ptr_array_unref (self->sources);
  g_free (self);
}

static gint
find (BtSegmented *self, BtAttempt *attempt)
{
  for (guint i = 0; i < self->connections->len; i++)
    if (((Connection *) g_ptr_array_index (self->connections, i))->attempt == attempt)
      return (gint) i;
  return -1;
}

static Connection *
connection_at (BtSegmented *self, guint index)
{
  return g_ptr_array_index (self->connections, index);
}

static Source *
main_source (BtSegmented *self)
{
  return g_ptr_array_index (self->sources, 0);
}

static void
add_connection (BtSegmented *self, Source *source, guint64 pos, guint64 end)
{
  Connection *c = g_new0 (Connection, 1);
  guint64 total = bt_transfer_get_total_bytes (self->transfer);

  if (total != BT_SIZE_UNKNOWN && end >= total)
    end = BT_SIZE_UNKNOWN; /* to the end: "bytes=N-" */
  c->source = source;
  c->attempt = bt_attempt_new_connection (self->attempt, source->uri, source->mirror, pos, end);
  g_ptr_array_add (self->connections, c);
  g_debug ("Transfer %s: connection to %s for %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT,
           bt_transfer_get_id (self->transfer), source->uri, pos, end);
}

/* What the connections but @skip fetch; @map gives their indices */
static guint
segments_of (BtSegmented *self, gint skip, BtSegment *active, guint *map)
{
  guint64 total = bt_transfer_get_total_bytes (self->transfer);
  guint n = 0;

  for (guint i = 0; i < self->connections->len && n < BT_MAX_CONNECTIONS; i++)
    {
      BtAttempt *a = connection_at (self, i)->attempt;
      guint64 end = bt_attempt_connection_get_end (a);

      if ((gint) i == skip)
        continue;
      active[n].pos = bt_attempt_connection_get_pos (a);
      active[n].end = end == BT_SIZE_UNKNOWN ? total : MIN (end, total);
      active[n].rate = bt_attempt_connection_get_rate (a);
      map[n++] = i;
    }
  return n;
}

/* The source for one more connection: the first URI, or a mirror once the
 * first URI split, whichever has the fewest connections, on a host with
 * room (max-connections-per-host) */
static Source *
pick_source (BtSegmented *self)
{
  guint max_per_host = bt_settings_get_uint (bt_transfer_get_settings (self->transfer),
                                             "max-connections-per-host");
  Source *best = NULL;
  guint best_count = 0;

  for (guint s = 0; s < self->sources->len; s++)
    {
      Source *source = g_ptr_array_index (self->sources, s);
      guint count = 0;

      if (source->dropped || (source->mirror && !self->split)
          || bt_attempt_get_host_load_of (source->host) >= max_per_host)
        continue;
      for (guint i = 0; i < self->connections->len; i++)
        count += connection_at (self, i)->source == source;
      if (best == NULL || count < best_count)
        {
          best = source;
          best_count = count;
        }
    }
  return best;
}

/* More connections, up to the number asked for, while work is worth one */
static void
fill (BtSegmented *self)
{
  guint64 total = bt_transfer_get_total_bytes (self->transfer);

  while (!self->stopped && self->split && !self->single && self->connections->len < self->wanted)
    {
      BtSegment active[BT_MAX_CONNECTIONS], out;
      guint map[BT_MAX_CONNECTIONS];
      Source *source = pick_source (self);
      guint n;
      gint victim;

      if (source == NULL)
        return;
      n = segments_of (self, -1, active, map);
      if (!bt_segments_next (bt_transfer_get_ranges (self->transfer), total,
                             bt_transfer_get_wanted (self->transfer), active, n, NEAR_BYTES,
                             MIN_SPLIT_BYTES, &out, &victim))
        return;
      if (victim >= 0)
        bt_attempt_connection_set_end (connection_at (self, map[victim])->attempt,
                                       active[victim].end);
      add_connection (self, source, out.pos, out.end);
    }
}

/* Sends a connection where the app wants data first, if none brings it
 * soon and none is free */
static void
redirect (BtSegmented *self)
{
  guint64 total = bt_transfer_get_total_bytes (self->transfer);
  const BtRangeSet *wanted = bt_transfer_get_wanted (self->transfer);
  BtSegment active[BT_MAX_CONNECTIONS], out;
  guint map[BT_MAX_CONNECTIONS];
  guint n;
  gint victim;

  if (self->stopped || !self->split || self->single || wanted == NULL
      || bt_range_set_get_n_ranges (wanted) == 0)
    return;
  n = segments_of (self, -1, active, map);
  if (!bt_segments_redirect (bt_transfer_get_ranges (self->transfer), total, wanted, active, n,
                             NEAR_BYTES, &out, &victim))
    return;
  g_debug ("Transfer %s: a connection moves to %" G_GUINT64_FORMAT " as asked",
           bt_transfer_get_id (self->transfer), out.pos);
  bt_attempt_connection_move (connection_at (self, map[victim])->attempt, out.pos,
                              total != BT_SIZE_UNKNOWN && out.end >= total ? BT_SIZE_UNKNOWN
                                                                           : out.end);
}

static gboolean
on_direct (gpointer user_data)
{
  BtSegmented *self = user_data;

  self->direct_id = 0;
  fill (self);
  redirect (self);
  return G_SOURCE_REMOVE;
}

/* Looks again at who fetches what, from the main loop: never under a
 * connection that is telling us something */
static void
direct_soon (BtSegmented *self)
{
  if (self->direct_id == 0 && !self->stopped)
    self->direct_id = g_idle_add (on_direct, self);
}

/* The first connection: from the first byte missing (or wanted) on */
static void
start_lead (BtSegmented *self)
{
  guint64 total = bt_transfer_get_total_bytes (self->transfer);
  BtSegment out;
  gint victim;

  if (!bt_segments_next (bt_transfer_get_ranges (self->transfer), total,
                         bt_transfer_get_wanted (self->transfer), NULL, 0, NEAR_BYTES,
                         MIN_SPLIT_BYTES, &out, &victim))
    {
      /* Everything is on disk already */
      bt_attempt_segments_complete (self->attempt);
      return;
    }
  add_connection (self, main_source (self), out.pos, out.end);
}

void
bt_segmented_start (BtSegmented *self)
{
  BtTransfer *transfer = self->transfer;

  self->stopped = FALSE;
  /* Resuming what split before (its data has holes, its validator and
   * size are known): every connection at once, each answer checked
   * against the validator (If-Range) */
  if (!bt_range_set_is_prefix (bt_transfer_get_ranges (transfer))
      && bt_transfer_get_etag (transfer) != NULL
      && bt_transfer_get_total_bytes (transfer) != BT_SIZE_UNKNOWN
      && bt_transfer_get_is_resumable (transfer))
    {
      self->split = TRUE;
      fill (self);
      if (self->connections->len > 0)
        return;
      self->split = FALSE;
    }
  start_lead (self);
}

/* Once a second: more connections if their hosts have room now */
void
bt_segmented_tick (BtSegmented *self)
{
  if (!self->stopped && self->connections->len < self->wanted)
    direct_soon (self);
}

/* The app asked for a range first */
void
bt_segmented_request_range (BtSegmented *self)
{
  direct_soon (self);
}

static void
fail (BtSegmented *self, BtErrorStatus status, const char *message, gboolean transient,
      guint retry_after_s)
{
  bt_attempt_segments_fail (self->attempt, status, message, transient, retry_after_s);
}

static gboolean
all_there (BtSegmented *self)
{
  guint64 total = bt_transfer_get_total_bytes (self->transfer);

  return total != BT_SIZE_UNKNOWN
         && bt_range_set_get_total (bt_transfer_get_ranges (self->transfer)) >= total;
}

static void
finish (BtSegmented *self)
{
  g_clear_handle_id (&self->direct_id, g_source_remove);
  stop_connections (self);
  bt_attempt_segments_complete (self->attempt);
}

/* A connection answered with data that the engine judged good */
void
bt_segmented_connection_answered (BtSegmented *self, BtAttempt *connection)
{
  gint i = find (self, connection);
  Connection *c;

  if (i < 0 || self->stopped)
    return;
  c = connection_at (self, (guint) i);
  if (c->source->mirror)
    {
      if (!c->source->agreed)
        g_debug ("Transfer %s: mirror %s agrees", bt_transfer_get_id (self->transfer),
                 c->source->uri);
      c->source->agreed = TRUE;
      self->mirror_data = TRUE;
      return;
    }
  if (bt_attempt_connection_get_status (connection) != 206)
    {
      /* The range was not honoured (a 200 is the whole resource, from 0):
       * this connection reads all of it, alone */
      if (!self->single && self->split)
        g_message ("Transfer %s: the server answered a range with %u; one connection for the "
                   "rest of the attempt",
                   bt_transfer_get_id (self->transfer),
                   bt_attempt_connection_get_status (connection));
      self->single = TRUE;
      g_ptr_array_steal_index (self->connections, (guint) i);
      stop_connections (self);
      g_ptr_array_add (self->connections, c);
      bt_attempt_connection_set_end (connection, BT_SIZE_UNKNOWN);
      return;
    }
  if (!self->split && !self->single
      && bt_transfer_get_total_bytes (self->transfer) != BT_SIZE_UNKNOWN
      && bt_transfer_get_etag (self->transfer) != NULL)
    {
      self->split = TRUE;
      fill (self);
    }
  if (bt_transfer_get_wanted (self->transfer) != NULL)
    direct_soon (self);
}

/* A connection is done with its segment (or its answer ended early) */
void
bt_segmented_connection_idle (BtSegmented *self, BtAttempt *connection)
{
  guint64 total = bt_transfer_get_total_bytes (self->transfer);
  BtSegment active[BT_MAX_CONNECTIONS], out;
  guint map[BT_MAX_CONNECTIONS];
  gint i = find (self, connection);
  guint n;
  gint victim;

  if (i < 0 || self->stopped)
    return;
  /* All there, or the whole of a resource of unknown size read */
  if (all_there (self) || total == BT_SIZE_UNKNOWN)
    {
      finish (self);
      return;
    }
  n = segments_of (self, i, active, map);
  if (!bt_segments_next (bt_transfer_get_ranges (self->transfer), total,
                         bt_transfer_get_wanted (self->transfer), active, n, NEAR_BYTES,
                         MIN_SPLIT_BYTES, &out, &victim))
    {
      /* Nothing left worth it: the others finish */
      Connection *c = g_ptr_array_steal_index (self->connections, (guint) i);

      bt_attempt_stop (c->attempt);
      connection_free (c);
      return;
    }
  if (victim >= 0)
    bt_attempt_connection_set_end (connection_at (self, map[victim])->attempt, active[victim].end);
  bt_attempt_connection_move (connection, out.pos, out.end >= total ? BT_SIZE_UNKNOWN : out.end);
}

/* A connection ended with an error; its segment goes to the others */
void
bt_segmented_connection_ended (BtSegmented *self, BtAttempt *connection, BtErrorStatus status,
                               const char *message, gboolean transient, guint retry_after_s)
{
  gint i = find (self, connection);
  Connection *c;
  Source *source;

  if (i < 0 || self->stopped)
    return;
  c = g_ptr_array_steal_index (self->connections, (guint) i);
  source = c->source;
  connection_free (c);

  if (status == BT_ERROR_STATUS_DISK_FULL || status == BT_ERROR_STATUS_DESTINATION_UNWRITABLE)
    {
      fail (self, status, message, FALSE, 0);
      return;
    }
  if (source->mirror)
    {
      if (!source->dropped)
        g_message ("Transfer %s: mirror %s dropped for this download: %s",
                   bt_transfer_get_id (self->transfer), source->uri,
                   message != NULL ? message : "it failed");
      source->dropped = TRUE;
    }
  else if (!transient)
    {
      fail (self, status, message, FALSE, retry_after_s);
      return;
    }
  else
    {
      g_debug ("Transfer %s: a connection failed (%s): %s", bt_transfer_get_id (self->transfer),
               bt_error_status_to_string (status), message);
      /* The last connection's failure is the attempt's: the transfer's
       * retries (backoff, Retry-After) resume from the ranges on disk */
      if (self->connections->len == 0 || ++self->failures > self->wanted)
        {
          if (self->connections->len == 0)
            fail (self, status, message, TRUE, retry_after_s);
          return;
        }
    }
  if (self->connections->len == 0)
    start_lead (self);
  else
    direct_soon (self);
}

/* A connection to the first URI found the data unusable (a 200 to its
 * range, a changed validator): the whole download starts over, with
 * this connection from 0; the next answer decides whether to split */
gboolean
bt_segmented_connection_restart (BtSegmented *self, BtAttempt *connection, const char *why)
{
  gint i = find (self, connection);
  Connection *c;

  if (i < 0 || self->stopped)
    return FALSE;
  c = g_ptr_array_steal_index (self->connections, (guint) i);
  stop_connections (self);
  g_ptr_array_add (self->connections, c);
  self->split = FALSE;
  bt_attempt_connection_set_segment (connection, 0, BT_SIZE_UNKNOWN);
  return bt_attempt_segments_restart (self->attempt, why);
}

/*
 * bt_segmented_retry_without_mirrors:
 *
 * The data does not match the checksum. If mirrors brought some of it,
 * they are dropped and the download starts over from the first URI alone.
 *
 * Returns: whether it starts over
 */
gboolean
bt_segmented_retry_without_mirrors (BtSegmented *self)
{
  if (!self->mirror_data)
    return FALSE;
  for (guint s = 0; s < self->sources->len; s++)
    {
      Source *source = g_ptr_array_index (self->sources, s);

      if (source->mirror && !source->dropped)
        g_message ("Transfer %s: mirror %s dropped for this download: its data does not match "
                   "the checksum",
                   bt_transfer_get_id (self->transfer), source->uri);
      source->dropped = source->dropped || source->mirror;
    }
  self->mirror_data = FALSE;
  self->split = FALSE;
  self->single = FALSE;
  self->failures = 0;
  stop_connections (self);
  if (bt_attempt_segments_restart (self->attempt, "mirrors brought data that fails the checksum"))
    bt_segmented_start (self);
  return TRUE;
}
