/* bt-engine.h: the contract between the transfer core and the engines
 *
 * An engine moves the bytes of one attempt for one protocol and direction
 * (HTTP download, HTTP upload and tus, FTP and FTPS). It knows nothing of
 * transfers, the bus, the store or the rules of docs/contract.md: it asks its
 * BtAttempt what to fetch and from where, and tells it what happened
 * through the narrow calls below. The core (bt-attempt.c) holds the rules
 * for every engine: rate limits, timeouts and the low-speed watchdog,
 * checkpoints, validators recorded at the first response, the local-network
 * rule for sandboxed apps, one error mapping, retries, verification and
 * the rename into place.
 *
 * Engines are registered by the program (bgtransferd.c); the core finds
 * them by kind and scheme and never by name.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

#include "bt-types.h"
#include "bt-validate.h"

G_BEGIN_DECLS

typedef struct _BtAttempt BtAttempt;
typedef struct _BtEngineJob BtEngineJob; /* an engine's own state, opaque to the core */

typedef struct
{
  const char *name; /* for the journal */
  BtKind kind;
  guint schemes;     /* 1 << BtScheme for each scheme it speaks */
  guint connections; /* to the host, per attempt (max-connections-per-host) */
  /* It can fetch a part of the resource, [resume offset, range end): the
   * core may run it many times at once, one attempt per connection of a
   * segmented download (bt-segmented.c) */
  gboolean segments;
  /* Begins the attempt from the main loop; the engine reports its end
   * through exactly one of bt_attempt_complete() or bt_attempt_fail*(),
   * or a bt_attempt_*() call that returned %FALSE, and then frees its job
   * itself; if that happens within start(), start() returns %NULL */
  BtEngineJob *(*start) (BtAttempt *attempt);
  /* The core no longer listens: the job must not call its attempt again
   * and frees itself once nothing of it is in flight */
  void (*stop) (BtEngineJob *job);
} BtEngineVTable;

void bt_engine_register (const BtEngineVTable *engine);
const BtEngineVTable *bt_engine_lookup (BtKind kind, BtScheme scheme);

/* ---- What an engine asks ------------------------------------------------ */

/* An engine that works in a thread keeps its attempt alive while it does */
BtAttempt *bt_attempt_ref (BtAttempt *self);
void bt_attempt_unref (BtAttempt *self);

const char *bt_attempt_get_transfer_id (BtAttempt *self);
GUri *bt_attempt_get_uri (BtAttempt *self);
const char *bt_attempt_get_method (BtAttempt *self);
GCancellable *bt_attempt_get_cancellable (BtAttempt *self);
SoupSession *bt_attempt_get_soup_session (BtAttempt *self);
guint bt_attempt_get_connect_timeout (BtAttempt *self);
guint bt_attempt_get_response_timeout (BtAttempt *self);

void bt_attempt_add_request_headers (BtAttempt *self, SoupMessageHeaders *headers, GUri *target);
gboolean bt_attempt_answer_challenge (BtAttempt *self, SoupMessage *msg, SoupAuth *auth,
                                      gboolean retrying);
gboolean bt_attempt_get_credentials (BtAttempt *self, gboolean proxy, GUri *target,
                                     const char **out_username, const char **out_password);

guint64 bt_attempt_get_resume_offset (BtAttempt *self);
/* A connection of a segmented download: it always asks for a range, even
 * from offset 0, up to the range end (BT_SIZE_UNKNOWN: the resource's end).
 * Its answers are judged like a resume's: a 200 or a changed validator
 * makes it call bt_attempt_restart_at (0) */
gboolean bt_attempt_is_segment (BtAttempt *self);
guint64 bt_attempt_get_range_end (BtAttempt *self);
const char *bt_attempt_get_validator (BtAttempt *self);
gboolean bt_attempt_get_fail_if_changed (BtAttempt *self);
guint64 bt_attempt_get_known_total (BtAttempt *self);

/* Uploads */
const char *bt_attempt_get_source_path (BtAttempt *self);
const char *bt_attempt_get_content_type (BtAttempt *self);
guint64 bt_attempt_get_total_to_send (BtAttempt *self);
gboolean bt_attempt_is_tus (BtAttempt *self);
const char *bt_attempt_get_resume_url (BtAttempt *self);
GInputStream *bt_attempt_open_source (BtAttempt *self, guint64 offset, GError **error);

/* The local-network rule (FAULTS X3): HTTP through libsoup's connection
 * events, other engines on each connection they make (any thread) */
void bt_attempt_guard_message (BtAttempt *self, SoupMessage *msg);
gboolean bt_attempt_check_address (BtAttempt *self, GSocketAddress *address, GError **error);
gboolean bt_attempt_check_peer (BtAttempt *self, GSocketConnection *connection, GError **error);

/* ---- What an engine tells ----------------------------------------------- */

/* The request (with all of its body) is out: waiting for the answer */
void bt_attempt_request_sent (BtAttempt *self);
void bt_attempt_record_response (BtAttempt *self, guint status, SoupMessageHeaders *headers,
                                 GUri *actual_uri);
void bt_attempt_record_validators (BtAttempt *self, guint64 total, const char *etag,
                                   const char *last_modified, gboolean resumable);
void bt_attempt_record_server_digest (BtAttempt *self, const char *header_name, const char *value);
void bt_attempt_record_resume_url (BtAttempt *self, const char *url);
gboolean bt_attempt_restart_at (BtAttempt *self, guint64 offset, const char *why);
void bt_attempt_set_repeatable (BtAttempt *self, gboolean repeatable);
/* Body bytes left: under the low-speed watchdog until request_sent() */
void bt_attempt_sent (BtAttempt *self, guint64 bytes_sent_in_all);

typedef void (*BtAttemptBodyDone) (BtAttempt *attempt, gpointer user_data);

void bt_attempt_receive_body (BtAttempt *self, GInputStream *stream, BtAttemptBodyDone done,
                              gpointer user_data);
void bt_attempt_receive_response (BtAttempt *self, GInputStream *stream, guint64 total,
                                  BtAttemptBodyDone done, gpointer user_data);

void bt_attempt_complete (BtAttempt *self);
void bt_attempt_fail (BtAttempt *self, BtErrorStatus status, gboolean transient,
                      guint retry_after_s, const char *format, ...) G_GNUC_PRINTF (5, 6);
void bt_attempt_fail_error (BtAttempt *self, const GError *error);
void bt_attempt_fail_http (BtAttempt *self, guint status, const char *reason,
                           const char *retry_after);
void bt_attempt_fail_message (BtAttempt *self, SoupMessage *msg);
void bt_attempt_fail_ftp (BtAttempt *self, guint code, const char *text);

G_END_DECLS
