/* bt-engines.h: the engines of the service, for the program to
 * register (bgtransferd.c); the core knows them only through bt-engine.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "bt-engine.h"

G_BEGIN_DECLS

extern const BtEngineVTable bt_http_download_engine;
extern const BtEngineVTable bt_http_upload_engine;
extern const BtEngineVTable bt_ftp_download_engine;

G_END_DECLS
