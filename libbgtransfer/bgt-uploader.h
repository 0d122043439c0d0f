/* bgt-uploader.h: creates uploads
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(BGT_INSIDE) && !defined(BGT_COMPILATION)
#error "Only <bgtransfer.h> can be included directly."
#endif

#include "bgt-upload.h"

G_BEGIN_DECLS

#define BGT_TYPE_CONTENT_PART (bgt_content_part_get_type ())
BGT_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (BgtContentPart, bgt_content_part, BGT, CONTENT_PART, GObject)

BGT_AVAILABLE_IN_ALL
BgtContentPart *bgt_content_part_new_for_file (const char *name, GFile *file);
BGT_AVAILABLE_IN_ALL
BgtContentPart *bgt_content_part_new_for_value (const char *name, const char *value);
BGT_AVAILABLE_IN_ALL
void bgt_content_part_set_filename (BgtContentPart *self, const char *filename);
BGT_AVAILABLE_IN_ALL
void bgt_content_part_set_content_type (BgtContentPart *self, const char *content_type);
BGT_AVAILABLE_IN_ALL
void bgt_content_part_set_header (BgtContentPart *self, const char *name, const char *value);

#define BGT_TYPE_UPLOADER (bgt_uploader_get_type ())
BGT_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (BgtUploader, bgt_uploader, BGT, UPLOADER, GObject)

BGT_AVAILABLE_IN_ALL
BgtUploader *bgt_uploader_new (BgtClient *client);
BGT_AVAILABLE_IN_ALL
void bgt_uploader_set_method (BgtUploader *self, const char *method);
BGT_AVAILABLE_IN_ALL
void bgt_uploader_set_resumable (BgtUploader *self, gboolean resumable);
BGT_AVAILABLE_IN_ALL
void bgt_uploader_set_response_destination (BgtUploader *self, GFile *file);
BGT_AVAILABLE_IN_ALL
void bgt_uploader_set_cost_policy (BgtUploader *self, BgtCostPolicy cost_policy);
BGT_AVAILABLE_IN_ALL
void bgt_uploader_set_priority (BgtUploader *self, BgtPriority priority);
BGT_AVAILABLE_IN_ALL
void bgt_uploader_set_group (BgtUploader *self, const char *group);
BGT_AVAILABLE_IN_ALL
void bgt_uploader_set_tag (BgtUploader *self, const char *tag);
BGT_AVAILABLE_IN_ALL
void bgt_uploader_set_request_header (BgtUploader *self, const char *name, const char *value);
BGT_AVAILABLE_IN_ALL
void bgt_uploader_set_server_credential (BgtUploader *self, const char *username,
                                         const char *password);

BGT_AVAILABLE_IN_ALL
void bgt_uploader_create_upload_async (BgtUploader *self, const char *uri, GFile *source,
                                       GCancellable *cancellable, GAsyncReadyCallback callback,
                                       gpointer user_data);
BGT_AVAILABLE_IN_ALL
void bgt_uploader_create_upload_for_fd_async (BgtUploader *self, const char *uri, int fd,
                                              GCancellable *cancellable,
                                              GAsyncReadyCallback callback, gpointer user_data);
BGT_AVAILABLE_IN_ALL
void bgt_uploader_create_multipart_upload_async (BgtUploader *self, const char *uri,
                                                 BgtContentPart **parts, guint n_parts,
                                                 GCancellable *cancellable,
                                                 GAsyncReadyCallback callback, gpointer user_data);
BGT_AVAILABLE_IN_ALL
BgtUpload *bgt_uploader_create_upload_finish (BgtUploader *self, GAsyncResult *result,
                                              GError **error);
BGT_AVAILABLE_IN_ALL
BgtUpload *bgt_uploader_create_upload_for_fd_finish (BgtUploader *self, GAsyncResult *result,
                                                     GError **error);
BGT_AVAILABLE_IN_ALL
BgtUpload *bgt_uploader_create_multipart_upload_finish (BgtUploader *self, GAsyncResult *result,
                                                        GError **error);

G_END_DECLS
