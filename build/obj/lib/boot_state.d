build/obj/lib/boot_state.o: lib/boot_state.c lib/boot_state.h \
 lib/grubenv.h lib/log.h lib/util.h
lib/boot_state.h:
lib/grubenv.h:
lib/log.h:
lib/util.h:
