/* bt-rate.h: token-bucket rate limits
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _BtRateLimiter BtRateLimiter;

BtRateLimiter *bt_rate_limiter_new (guint64 bytes_per_second);
BtRateLimiter *bt_rate_limiter_ref (BtRateLimiter *self);
void bt_rate_limiter_unref (BtRateLimiter *self);
void bt_rate_limiter_set_rate (BtRateLimiter *self, guint64 bytes_per_second);
guint64 bt_rate_limiter_get_rate (BtRateLimiter *self);
gint64 bt_rate_limiter_take (BtRateLimiter *self, guint64 bytes, gint64 now_us);
gsize bt_rate_limiter_chunk (BtRateLimiter *self, gsize max_chunk);

BtRateLimiter *bt_rate_limiter_get_global_download (void);
BtRateLimiter *bt_rate_limiter_get_global_upload (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BtRateLimiter, bt_rate_limiter_unref)

G_END_DECLS
