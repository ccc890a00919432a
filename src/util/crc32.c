/* crc32.c — CRC-32 with the IEEE polynomial (reflected 0xEDB88320), bitwise table built on
   the fly per byte: models are checked once at load, so simplicity beats a static table. */
#include "util/util.h"

uint32_t crc32_update(uint32_t crc, const void *data, size_t n) {
    const unsigned char *p = data;
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}
