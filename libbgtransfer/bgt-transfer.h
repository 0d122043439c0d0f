/* bgt-transfer.h: one download or upload
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(BGT_INSIDE) && !defined(BGT_COMPILATION)
#error "Only <bgtransfer.h> can be included directly."
#endif

#include <gio/gio.h>

#include "bgt-client.h"
#include "bgt-enums.h"
#include "bgt-version.h"

G_BEGIN_DECLS

#define BGT_TYPE_TRANSFER (bgt_transfer_get_type ())
BGT_AVAILABLE_IN_ALL
G_DECLARE_DERIVABLE_TYPE (BgtTransfer, bgt_transfer, BGT, TRANSFER, GObject)

struct _BgtTransferClass
{
  GObjectClass parent_class;

  /*< private >*/
  gpointer padding[8];
};

BGT_AVAILABLE_IN_ALL
BgtClient *bgt_transfer_get_client (BgtTransfer *self);
BGT_AVAILABLE_IN_ALL
const char *bgt_transfer_get_object_path (BgtTransfer *self);
BGT_AVAILABLE_IN_ALL
const char *bgt_transfer_get_id (BgtTransfer *self);
BGT_AVAILABLE_IN_ALL
BgtTransferKind bgt_transfer_get_kind (BgtTransfer *self);
BGT_AVAILABLE_IN_ALL
const char *bgt_transfer_get_uri (BgtTransfer *self);
BGT_AVAILABLE_IN_ALL
const char *bgt_transfer_get_actual_uri (BgtTransfer *self);
BGT_AVAILABLE_IN_ALL
const char *bgt_transfer_get_method (BgtTransfer *self);
BGT_AVAILABLE_IN_ALL
BgtStatus bgt_transfer_get_status (BgtTransfer *self);
BGT_AVAILABLE_IN_ALL
gint64 bgt_transfer_get_bytes_received (BgtTransfer *self);
BGT_AVAILABLE_IN_ALL
gint64 bgt_transfer_get_total_bytes_to_receive (BgtTransfer *self);
BGT_AVAILABLE_IN_ALL
gint64 bgt_transfer_get_bytes_sent (BgtTransfer *self);
BGT_AVAILABLE_IN_ALL
gint64 bgt_transfer_get_total_bytes_to_send (BgtTransfer *self);
BGT_AVAILABLE_IN_ALL
BgtPriority bgt_transfer_get_priority (BgtTransfer *self);
BGT_AVAILABLE_IN_ALL
BgtCostPolicy bgt_transfer_get_cost_policy (BgtTransfer *self);
BGT_AVAILABLE_IN_ALL
const char *bgt_transfer_get_group (BgtTransfer *self);
BGT_AVAILABLE_IN_ALL
const char *bgt_transfer_get_tag (BgtTransfer *self);
BGT_AVAILABLE_IN_ALL
gint64 bgt_transfer_get_created_time (BgtTransfer *self);
BGT_AVAILABLE_IN_ALL
gint64 bgt_transfer_get_completed_time (BgtTransfer *self);
BGT_AVAILABLE_IN_ALL
guint bgt_transfer_get_http_status (BgtTransfer *self);
BGT_AVAILABLE_IN_ALL
gboolean bgt_transfer_get_is_resumable (BgtTransfer *self);
BGT_AVAILABLE_IN_ALL
gint64 bgt_transfer_get_rate (BgtTransfer *self);
BGT_AVAILABLE_IN_ALL
guint bgt_transfer_get_attempts (BgtTransfer *self);
BGT_AVAILABLE_IN_ALL
BgtErrorStatus bgt_transfer_get_error_status (BgtTransfer *self);
BGT_AVAILABLE_IN_ALL
const char *bgt_transfer_get_error_message (BgtTransfer *self);
BGT_AVAILABLE_IN_1_0
double bgt_transfer_get_progress (BgtTransfer *self);
BGT_AVAILABLE_IN_1_0
GVariant *bgt_transfer_dup_ranges (BgtTransfer *self);
BGT_AVAILABLE_IN_ALL
GHashTable *bgt_transfer_dup_response_headers (BgtTransfer *self);
BGT_AVAILABLE_IN_ALL
gboolean bgt_transfer_is_finished (BgtTransfer *self);

BGT_AVAILABLE_IN_ALL
void bgt_transfer_start_async (BgtTransfer *self, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data);
BGT_AVAILABLE_IN_ALL
gboolean bgt_transfer_start_finish (BgtTransfer *self, GAsyncResult *result, GError **error);
BGT_AVAILABLE_IN_ALL
void bgt_transfer_pause_async (BgtTransfer *self, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data);
BGT_AVAILABLE_IN_ALL
gboolean bgt_transfer_pause_finish (BgtTransfer *self, GAsyncResult *result, GError **error);
BGT_AVAILABLE_IN_ALL
void bgt_transfer_resume_async (BgtTransfer *self, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data);
BGT_AVAILABLE_IN_ALL
gboolean bgt_transfer_resume_finish (BgtTransfer *self, GAsyncResult *result, GError **error);
BGT_AVAILABLE_IN_ALL
void bgt_transfer_cancel_async (BgtTransfer *self, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data);
BGT_AVAILABLE_IN_ALL
gboolean bgt_transfer_cancel_finish (BgtTransfer *self, GAsyncResult *result, GError **error);
BGT_AVAILABLE_IN_ALL
void bgt_transfer_remove_async (BgtTransfer *self, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data);
BGT_AVAILABLE_IN_ALL
gboolean bgt_transfer_remove_finish (BgtTransfer *self, GAsyncResult *result, GError **error);
BGT_AVAILABLE_IN_ALL
void bgt_transfer_set_priority_async (BgtTransfer *self, BgtPriority priority,
                                      GCancellable *cancellable, GAsyncReadyCallback callback,
                                      gpointer user_data);
BGT_AVAILABLE_IN_ALL
gboolean bgt_transfer_set_priority_finish (BgtTransfer *self, GAsyncResult *result, GError **error);
BGT_AVAILABLE_IN_ALL
void bgt_transfer_set_cost_policy_async (BgtTransfer *self, BgtCostPolicy cost_policy,
                                         GCancellable *cancellable, GAsyncReadyCallback callback,
                                         gpointer user_data);
BGT_AVAILABLE_IN_ALL
gboolean bgt_transfer_set_cost_policy_finish (BgtTransfer *self, GAsyncResult *result,
                                              GError **error);
BGT_AVAILABLE_IN_1_0
void bgt_transfer_set_requested_uri_async (BgtTransfer *self, const char *uri,
                                           GCancellable *cancellable, GAsyncReadyCallback callback,
                                           gpointer user_data);
BGT_AVAILABLE_IN_1_0
gboolean bgt_transfer_set_requested_uri_finish (BgtTransfer *self, GAsyncResult *result,
                                                GError **error);
BGT_AVAILABLE_IN_ALL
void bgt_transfer_refresh_async (BgtTransfer *self, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data);
BGT_AVAILABLE_IN_ALL
gboolean bgt_transfer_refresh_finish (BgtTransfer *self, GAsyncResult *result, GError **error);
BGT_AVAILABLE_IN_ALL
void bgt_transfer_wait_async (BgtTransfer *self, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data);
BGT_AVAILABLE_IN_ALL
gboolean bgt_transfer_wait_finish (BgtTransfer *self, GAsyncResult *result, GError **error);
BGT_AVAILABLE_IN_ALL
gboolean bgt_transfer_wait_sync (BgtTransfer *self, GCancellable *cancellable, GError **error);

G_END_DECLS
