build/obj/initrd/main.o: initrd/main.c lib/boot_state.h lib/log.h \
 lib/util.h
lib/boot_state.h:
lib/log.h:
lib/util.h:
