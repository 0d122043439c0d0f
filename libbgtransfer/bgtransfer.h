/* bgtransfer.h: the client library of the background transfer service
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#define BGT_INSIDE
#include "bgt-version.h"
#include "bgt-enums.h"
#include "bgt-enum-types.h"
#include "bgt-error.h"
#include "bgt-client.h"
#include "bgt-transfer.h"
#include "bgt-download.h"
#include "bgt-result-stream.h"
#include "bgt-upload.h"
#include "bgt-transfer-group.h"
#include "bgt-completion-group.h"
#include "bgt-content-part.h"
#include "bgt-downloader.h"
#include "bgt-uploader.h"
#undef BGT_INSIDE
