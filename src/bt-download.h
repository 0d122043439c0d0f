/* bt-download.h: moves a download's bytes over HTTP(S) with libsoup
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <libsoup/soup.h>

#include "bt-transfer.h"

G_BEGIN_DECLS

SoupSession *bt_download_session_new (GSettings *settings);
BtJob *bt_download_job_start (BtTransfer *transfer, SoupSession *session, GSettings *settings);

G_END_DECLS
