/* bt-transfer.h: one transfer, its state, and its object on the bus
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <gio/gunixfdlist.h>
#include <libsoup/soup.h>

#include "bt-callers.h"
#include "bt-destination.h"
#include "bt-policy.h"
#include "bt-rate.h"
#include "bt-segments.h"
#include "bt-secrets.h"
#include "bt-source.h"
#include "bt-store.h"
#include "bt-types.h"
#include "bt-verify.h"

G_BEGIN_DECLS

#define BT_TRANSFERS_PATH "/org/freedesktop/BackgroundTransfer/transfer"
#define BT_TRANSFER_PATH_PREFIX BT_TRANSFERS_PATH "/"
#define BT_TRANSFER_INTERFACE "org.freedesktop.BackgroundTransfer.Transfer"

typedef struct _BtAttempt BtAttempt;

#define BT_TYPE_TRANSFER (bt_transfer_get_type ())
G_DECLARE_FINAL_TYPE (BtTransfer, bt_transfer, BT, TRANSFER, GObject)

BtTransfer *bt_transfer_new_download (const char *id, const char *app_id, guint64 seq,
                                      const char *uri, GVariant *options, GUnixFDList *fd_list,
                                      gboolean sandboxed, GError **error);

BtTransfer *bt_transfer_new_upload (const char *id, const char *app_id, guint64 seq,
                                    const char *uri, GVariant *options, GUnixFDList *fd_list,
                                    gboolean sandboxed, const char *responses_dir, GError **error);
BtTransfer *bt_transfer_new_from_record (const char *id, const char *app_id, guint64 seq,
                                         GVariant *record);
GVariant *bt_transfer_serialize (BtTransfer *self);
void bt_transfer_save (BtTransfer *self);
BtStore *bt_transfer_get_store (BtTransfer *self);
void bt_transfer_begin_commit (BtTransfer *self);
void bt_transfer_set_in_place (BtTransfer *self);
gboolean bt_transfer_is_in_place (BtTransfer *self);
void bt_transfer_set_recorded (BtTransfer *self);
gboolean bt_transfer_is_recorded (BtTransfer *self);
void bt_transfer_record_completion (BtTransfer *self, gboolean in_place);
gboolean bt_transfer_completion_is_recorded (BtTransfer *self);
gboolean bt_transfer_may_reach_local_network (BtTransfer *self);
void bt_transfer_checkpoint (BtTransfer *self);
void bt_transfer_checkpoint_in_background (BtTransfer *self, gboolean flush);
gboolean bt_transfer_rewind_after_failed_flush (BtTransfer *self);
void bt_transfer_reset_checkpoint (BtTransfer *self, guint64 bytes);
gboolean bt_transfer_keeps_service_busy (BtTransfer *self);

void bt_transfer_set_via_portal (BtTransfer *self, gboolean via_portal);
gboolean bt_transfer_export (BtTransfer *self, GDBusConnection *connection, BtCallers *callers,
                             GError **error);
void bt_transfer_unexport (BtTransfer *self);
const GDBusInterfaceVTable *bt_transfer_vtable (void);
GVariant *bt_transfer_get_properties (BtTransfer *self);
GPtrArray *bt_transfer_get_fd_identities (BtTransfer *self);

/* The control methods of the Transfer interface, for its objects and for
 * the portal backend; the caller has checked who asks */
gboolean bt_transfer_start (BtTransfer *self, GError **error);
gboolean bt_transfer_pause (BtTransfer *self, GError **error);
gboolean bt_transfer_resume (BtTransfer *self, GError **error);
gboolean bt_transfer_cancel (BtTransfer *self, GError **error);
gboolean bt_transfer_remove (BtTransfer *self, GError **error);
gboolean bt_transfer_set_priority_named (BtTransfer *self, const char *value, GError **error);
gboolean bt_transfer_set_cost_policy_named (BtTransfer *self, const char *value, GError **error);
void bt_transfer_return_when_saved (BtTransfer *self, GDBusMethodInvocation *invocation);

void bt_transfer_set_status (BtTransfer *self, BtStatus status);
void bt_transfer_set_error (BtTransfer *self, BtErrorStatus error_status, const char *message);
gboolean bt_transfer_is_unfinished (BtTransfer *self);
gboolean bt_transfer_waits_for_network (BtTransfer *self);
void bt_transfer_hold (BtTransfer *self, BtStatus status);

void bt_transfer_set_services (BtTransfer *self, GSettings *settings, BtStore *store,
                               BtPolicy *policy);
void bt_transfer_run (BtTransfer *self, SoupSession *session);
void bt_transfer_begin_now (BtTransfer *self);
gboolean bt_transfer_is_running (BtTransfer *self);
gboolean bt_transfer_wants_to_run (BtTransfer *self);
gboolean bt_transfer_is_queued (BtTransfer *self);
gboolean bt_transfer_is_exported (BtTransfer *self);

/* What the rest of the service reads */
const char *bt_transfer_get_id (BtTransfer *self);
const char *bt_transfer_get_object_path (BtTransfer *self);
const char *bt_transfer_get_app_id (BtTransfer *self);
gboolean bt_transfer_get_via_portal (BtTransfer *self);
gboolean bt_transfer_get_sandboxed (BtTransfer *self);
void bt_transfer_set_documents_pending (BtTransfer *self);
gboolean bt_transfer_documents_pending (BtTransfer *self);
void bt_transfer_documents_checked (BtTransfer *self, BtErrorStatus error_status,
                                    const char *message);
guint64 bt_transfer_get_seq (BtTransfer *self);
BtKind bt_transfer_get_kind (BtTransfer *self);
BtStatus bt_transfer_get_status (BtTransfer *self);
BtErrorStatus bt_transfer_get_error_status (BtTransfer *self);
BtPriority bt_transfer_get_priority (BtTransfer *self);
BtCostPolicy bt_transfer_get_cost_policy (BtTransfer *self);
const char *bt_transfer_get_group (BtTransfer *self);
const char *bt_transfer_get_completion_group (BtTransfer *self);
void bt_transfer_set_completion_group (BtTransfer *self, const char *id);
gint64 bt_transfer_get_completed_time (BtTransfer *self);
gboolean bt_transfer_has_secrets (BtTransfer *self);
gboolean bt_transfer_secrets_pending (BtTransfer *self);
void bt_transfer_take_secrets (BtTransfer *self, BtSecrets *secrets);
gboolean bt_transfer_needs_saving (BtTransfer *self);
gboolean bt_transfer_take_notification (BtTransfer *self, GVariant **out_notify);
const char *bt_transfer_get_current_uri (BtTransfer *self);
const char *bt_transfer_get_host (BtTransfer *self, guint *out_connections);
const char *bt_transfer_get_method (BtTransfer *self);
GPtrArray *bt_transfer_get_headers (BtTransfer *self);
BtSecrets *bt_transfer_get_secrets (BtTransfer *self);
BtDestination *bt_transfer_get_destination (BtTransfer *self);
BtSource *bt_transfer_get_source (BtTransfer *self);
BtRateLimiter *bt_transfer_get_rate_limiter (BtTransfer *self);
GSettings *bt_transfer_get_settings (BtTransfer *self);
BtPolicy *bt_transfer_get_policy (BtTransfer *self);
BtDigest *bt_transfer_get_checksum (BtTransfer *self);
BtDigest *bt_transfer_get_server_digest (BtTransfer *self);
gboolean bt_transfer_get_fail_if_changed (BtTransfer *self);
gboolean bt_transfer_is_tus (BtTransfer *self);
gboolean bt_transfer_get_response_in_state (BtTransfer *self);
guint64 bt_transfer_get_bytes_received (BtTransfer *self);
guint64 bt_transfer_get_checkpoint_bytes (BtTransfer *self);
guint64 bt_transfer_get_total_bytes (BtTransfer *self);
guint64 bt_transfer_get_bytes_sent (BtTransfer *self);
guint64 bt_transfer_get_total_to_send (BtTransfer *self);
const char *bt_transfer_get_etag (BtTransfer *self);
const char *bt_transfer_get_last_modified (BtTransfer *self);
gboolean bt_transfer_get_is_resumable (BtTransfer *self);
const char *bt_transfer_get_resume_url (BtTransfer *self);
guint64 bt_transfer_get_rate (BtTransfer *self);
const BtRangeSet *bt_transfer_get_ranges (BtTransfer *self);
const BtRangeSet *bt_transfer_get_wanted (BtTransfer *self);
guint bt_transfer_get_connections (BtTransfer *self);
gboolean bt_transfer_get_random_access (BtTransfer *self);
GStrv bt_transfer_get_mirrors (BtTransfer *self);
guint bt_transfer_get_uri_index (BtTransfer *self);

/* What an attempt (bt-attempt.c) records */
void bt_transfer_count_attempt (BtTransfer *self);
void bt_transfer_set_bytes_received (BtTransfer *self, guint64 bytes);
void bt_transfer_add_received (BtTransfer *self, guint64 offset, guint64 length);
void bt_transfer_restarted (BtTransfer *self);
void bt_transfer_set_total_bytes (BtTransfer *self, guint64 total);
void bt_transfer_set_bytes_sent (BtTransfer *self, guint64 bytes, gboolean is_total);
void bt_transfer_set_rate (BtTransfer *self, guint64 rate);
void bt_transfer_set_validators (BtTransfer *self, guint64 total, const char *etag,
                                 const char *last_modified, gboolean resumable);
void bt_transfer_set_server_digest (BtTransfer *self, BtDigest *digest);
void bt_transfer_set_response (BtTransfer *self, guint status, GPtrArray *headers,
                               const char *actual_uri);
void bt_transfer_set_resume_url (BtTransfer *self, const char *url);
void bt_transfer_attempt_done (BtTransfer *self, BtAttempt *attempt, BtErrorStatus error_status,
                               const char *message, gboolean transient, guint retry_after_s);

G_END_DECLS
