/* bt-upload.h: sends an upload over HTTP(S): PUT/POST, multipart, tus
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <libsoup/soup.h>

#include "bt-transfer.h"

G_BEGIN_DECLS

BtJob *bt_upload_job_start (BtTransfer *transfer, SoupSession *session, GSettings *settings);

G_END_DECLS
