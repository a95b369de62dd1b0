/* Blinks PD12 (the green LED of an STM32F4-Discovery) and carries its fwrepo stamp. */
#include <stdint.h>

#include "fwrepo_stamp.h"

/* The stamp string `fwrepo verify` finds in the image: version, commit, dirty flag. */
__attribute__((section(".fwrepo_stamp"), used)) const char fwrepo_stamp[] = FWREPO_STAMP;
/* Reported over a debug console or BLE in a real product. */
const char firmware_version[] = FWREPO_VERSION;

#define RCC_AHB1ENR (*(volatile uint32_t *)0x40023830u)
#define GPIOD_MODER (*(volatile uint32_t *)0x40020C00u)
#define GPIOD_ODR (*(volatile uint32_t *)0x40020C14u)

static void delay(volatile uint32_t n)
{
    while (n--) {
    }
}

int main(void)
{
    RCC_AHB1ENR |= 1u << 3;          /* GPIOD clock */
    GPIOD_MODER |= 1u << (12 * 2);   /* PD12 output */
    for (;;) {
        GPIOD_ODR ^= 1u << 12;
        delay(500000);
    }
}
