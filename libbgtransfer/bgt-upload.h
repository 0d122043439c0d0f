/* bgt-upload.h: an upload
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(BGT_INSIDE) && !defined(BGT_COMPILATION)
#error "Only <bgtransfer.h> can be included directly."
#endif

#include "bgt-transfer.h"

G_BEGIN_DECLS

#define BGT_TYPE_UPLOAD (bgt_upload_get_type ())
BGT_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (BgtUpload, bgt_upload, BGT, UPLOAD, BgtTransfer)

BGT_AVAILABLE_IN_ALL
const char *bgt_upload_get_source (BgtUpload *self);

BGT_AVAILABLE_IN_1_0
void bgt_upload_open_response_async (BgtUpload *self, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data);
BGT_AVAILABLE_IN_1_0
GInputStream *bgt_upload_open_response_finish (BgtUpload *self, GAsyncResult *result,
                                               GError **error);

G_END_DECLS
