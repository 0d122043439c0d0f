/* bgt-uploader.h: creates uploads
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(BGT_INSIDE) && !defined(BGT_COMPILATION)
#error "Only <bgtransfer.h> can be included directly."
#endif

#include "bgt-completion-group.h"
#include "bgt-content-part.h"
#include "bgt-upload.h"

G_BEGIN_DECLS

#define BGT_TYPE_UPLOADER (bgt_uploader_get_type ())
BGT_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (BgtUploader, bgt_uploader, BGT, UPLOADER, GObject)

BGT_AVAILABLE_IN_ALL
BgtUploader *bgt_uploader_new (BgtClient *client);
BGT_AVAILABLE_IN_1_0
BgtClient *bgt_uploader_get_client (BgtUploader *self);

/* The options downloads and uploads share */
BGT_AVAILABLE_IN_1_0
BgtCostPolicy bgt_uploader_get_cost_policy (BgtUploader *self);
BGT_AVAILABLE_IN_ALL
void bgt_uploader_set_cost_policy (BgtUploader *self, BgtCostPolicy cost_policy);
BGT_AVAILABLE_IN_1_0
BgtPriority bgt_uploader_get_priority (BgtUploader *self);
BGT_AVAILABLE_IN_ALL
void bgt_uploader_set_priority (BgtUploader *self, BgtPriority priority);
BGT_AVAILABLE_IN_1_0
const char *bgt_uploader_get_group (BgtUploader *self);
BGT_AVAILABLE_IN_ALL
void bgt_uploader_set_group (BgtUploader *self, const char *group);
BGT_AVAILABLE_IN_1_0
const char *bgt_uploader_get_tag (BgtUploader *self);
BGT_AVAILABLE_IN_ALL
void bgt_uploader_set_tag (BgtUploader *self, const char *tag);
BGT_AVAILABLE_IN_1_0
gboolean bgt_uploader_get_start (BgtUploader *self);
BGT_AVAILABLE_IN_1_0
void bgt_uploader_set_start (BgtUploader *self, gboolean start);
BGT_AVAILABLE_IN_1_0
BgtCompletionGroup *bgt_uploader_get_completion_group (BgtUploader *self);
BGT_AVAILABLE_IN_1_0
void bgt_uploader_set_completion_group (BgtUploader *self, BgtCompletionGroup *completion_group);
BGT_AVAILABLE_IN_1_0
gint64 bgt_uploader_get_max_rate (BgtUploader *self);
BGT_AVAILABLE_IN_1_0
void bgt_uploader_set_max_rate (BgtUploader *self, gint64 max_rate);
BGT_AVAILABLE_IN_1_0
const char *bgt_uploader_get_method (BgtUploader *self);
BGT_AVAILABLE_IN_ALL
void bgt_uploader_set_method (BgtUploader *self, const char *method);
BGT_AVAILABLE_IN_1_0
gboolean bgt_uploader_get_show_notifications (BgtUploader *self);
BGT_AVAILABLE_IN_1_0
void bgt_uploader_set_show_notifications (BgtUploader *self, gboolean show_notifications);
BGT_AVAILABLE_IN_1_0
void bgt_uploader_set_notification_texts (BgtUploader *self, const char *success_title,
                                          const char *success_body, const char *failure_title,
                                          const char *failure_body);
BGT_AVAILABLE_IN_ALL
void bgt_uploader_set_request_header (BgtUploader *self, const char *name, const char *value);
BGT_AVAILABLE_IN_ALL
void bgt_uploader_set_server_credential (BgtUploader *self, const char *username,
                                         const char *password);
BGT_AVAILABLE_IN_1_0
void bgt_uploader_set_proxy_credential (BgtUploader *self, const char *username,
                                        const char *password);

/* The options of uploads */
BGT_AVAILABLE_IN_1_0
gboolean bgt_uploader_get_resumable (BgtUploader *self);
BGT_AVAILABLE_IN_ALL
void bgt_uploader_set_resumable (BgtUploader *self, gboolean resumable);
BGT_AVAILABLE_IN_1_0
GFile *bgt_uploader_get_response_destination (BgtUploader *self);
BGT_AVAILABLE_IN_ALL
void bgt_uploader_set_response_destination (BgtUploader *self, GFile *file);
BGT_AVAILABLE_IN_1_0
gboolean bgt_uploader_set_response_destination_fd (BgtUploader *self, int fd, GError **error);

BGT_AVAILABLE_IN_ALL
void bgt_uploader_create_upload_async (BgtUploader *self, const char *uri, GFile *source,
                                       GCancellable *cancellable, GAsyncReadyCallback callback,
                                       gpointer user_data);
BGT_AVAILABLE_IN_ALL
BgtUpload *bgt_uploader_create_upload_finish (BgtUploader *self, GAsyncResult *result,
                                              GError **error);
BGT_AVAILABLE_IN_ALL
void bgt_uploader_create_upload_for_fd_async (BgtUploader *self, const char *uri, int fd,
                                              GCancellable *cancellable,
                                              GAsyncReadyCallback callback, gpointer user_data);
BGT_AVAILABLE_IN_ALL
BgtUpload *bgt_uploader_create_upload_for_fd_finish (BgtUploader *self, GAsyncResult *result,
                                                     GError **error);
BGT_AVAILABLE_IN_ALL
void bgt_uploader_create_multipart_upload_async (BgtUploader *self, const char *uri,
                                                 BgtContentPart **parts, guint n_parts,
                                                 GCancellable *cancellable,
                                                 GAsyncReadyCallback callback, gpointer user_data);
BGT_AVAILABLE_IN_ALL
BgtUpload *bgt_uploader_create_multipart_upload_finish (BgtUploader *self, GAsyncResult *result,
                                                        GError **error);

G_END_DECLS
