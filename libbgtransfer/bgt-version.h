/* bgt-version.h: symbol visibility of libbgtransfer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(BGT_INSIDE) && !defined(BGT_COMPILATION)
#error "Only <bgtransfer.h> can be included directly."
#endif

#define BGT_MAJOR_VERSION 0
#define BGT_MINOR_VERSION 1
#define BGT_MICRO_VERSION 0

#define BGT_AVAILABLE_IN_ALL __attribute__ ((visibility ("default"))) extern
