/* fuzz-retry-after.c: Retry-After (seconds or an HTTP date)
 *
 * Whatever it says, the wait is 0 (nothing usable) or within 1 s … 1 h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "bt-error-map.h"
#include "fuzz-common.h"

int
LLVMFuzzerTestOneInput (const unsigned char *data, size_t size)
{
  g_autofree char *value = fuzz_string (data, size);
  g_autoptr (GDateTime) now = g_date_time_new_utc (2024, 2, 29, 12, 0, 0);
  guint seconds = bt_retry_after_parse (value, now);

  g_assert_true (seconds == 0 || (seconds >= 1 && seconds <= 3600));
  return 0;
}
